"""Run the sandbox as a detached background process, tracked through a state directory.

The state directory holds ``sandbox.pid``, the ``kubeconfig`` the server writes once it is
ready, ``requests.log`` (one line per request) and ``sandbox.out`` (its own output).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PID_FILE = "sandbox.pid"
KUBECONFIG = "kubeconfig"
REQUEST_LOG = "requests.log"
OUTPUT = "sandbox.out"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class SandboxProcessError(RuntimeError):
    """The background sandbox could not be started (message includes its output tail), or
    does not answer."""


@dataclass(frozen=True)
class SandboxStatus:
    """What :func:`status` found in a state directory."""

    running: bool
    pid: int | None
    kubeconfig: Path
    message: str


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Is ``pid`` a live (non-zombie) sandbox process?"""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if proc.joinpath("stat").read_text().split(")", 1)[1].split()[0] == "Z":
                return False
            return b"globepay_tasks.sandbox" in proc.joinpath("cmdline").read_bytes()
        except (OSError, IndexError):
            return False
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def status(state_dir: str | os.PathLike[str]) -> SandboxStatus:
    """Whether the sandbox of ``state_dir`` runs, its pid and kubeconfig path."""
    state = Path(state_dir)
    pid = _read_pid(state)
    kubeconfig = state / KUBECONFIG
    if pid is None:
        return SandboxStatus(False, None, kubeconfig, f"sandbox is not running (no pid file in "
                                                      f"{state})")
    if not _alive(pid):
        return SandboxStatus(False, pid, kubeconfig, f"sandbox is not running (stale pid {pid})")
    return SandboxStatus(True, pid, kubeconfig, f"sandbox is running (pid {pid}, kubeconfig "
                                                f"{kubeconfig})")


def describe(state_dir: str | os.PathLike[str], timeout: float = 5.0) -> dict[str, Any]:
    """What the sandbox of ``state_dir`` says of itself (``GET /_sandbox``: URL, clusters and
    their contexts, pid, start time, time scale), found through its kubeconfig. Raises
    :class:`SandboxProcessError` when it does not answer."""
    import yaml

    kubeconfig = Path(state_dir) / KUBECONFIG
    try:
        document = yaml.safe_load(kubeconfig.read_text()) or {}
        server = urlsplit(document["clusters"][0]["cluster"]["server"])
        url = f"{server.scheme}://{server.hostname}:{server.port}/_sandbox"
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as error:
        raise SandboxProcessError(f"cannot read the sandbox's address from {kubeconfig}: "
                                  f"{error}") from None
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        with opener.open(url, timeout=timeout) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise SandboxProcessError(f"the sandbox does not answer at {url}: {error}") from None


def start_background(state_dir: str | os.PathLike[str], *, port: int = 0,
                     clusters: Sequence[str] = ("dev", "staging", "prod"),
                     contexts: Mapping[str, str] | None = None,
                     rollout_seconds: float = 5.0, time_scale: float = 1.0,
                     server_version: str = "1.32.4", timeout: float = 30.0) -> tuple[int, Path]:
    """Start ``python -m globepay_tasks.sandbox`` detached; return (pid, kubeconfig path)
    once the kubeconfig exists (``contexts``: cluster -> kube context name). Raises
    :class:`SandboxProcessError` if it is already running, dies, or does not get ready
    within ``timeout`` seconds."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    current = status(state)
    if current.running:
        raise SandboxProcessError(f"sandbox already running (pid {current.pid}) in {state}")
    kubeconfig = state / KUBECONFIG
    kubeconfig.unlink(missing_ok=True)
    command = [sys.executable, "-m", "globepay_tasks.sandbox", "--kubeconfig", str(kubeconfig),
               "--log", str(state / REQUEST_LOG), "--port", str(port),
               "--clusters", ",".join(clusters), "--rollout-seconds", str(rollout_seconds),
               "--time-scale", str(time_scale), "--server-version", server_version,
               *(f"--context={c}={name}" for c, name in (contexts or {}).items())]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT),
                                                    env.get("PYTHONPATH", "")) if p)
    output = state / OUTPUT
    with open(output, "ab") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    (state / PID_FILE).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubeconfig.exists():
            return proc.pid, kubeconfig
        code = proc.poll()
        if code is not None:
            (state / PID_FILE).unlink(missing_ok=True)
            raise SandboxProcessError(f"sandbox exited with status {code} before it was "
                                      f"ready:\n{_tail(output)}")
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    (state / PID_FILE).unlink(missing_ok=True)
    raise SandboxProcessError(f"sandbox did not get ready within {timeout:g}s:\n{_tail(output)}")


def stop_background(state_dir: str | os.PathLike[str], *, timeout: float = 10.0) -> str:
    """SIGTERM the sandbox of ``state_dir``, wait for it, remove the pid file; returns a
    message (also when it was not running)."""
    state = Path(state_dir)
    current = status(state)
    if not current.running:
        (state / PID_FILE).unlink(missing_ok=True)
        return current.message
    assert current.pid is not None
    os.kill(current.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(current.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    forced = _alive(current.pid)
    if forced:
        os.kill(current.pid, signal.SIGKILL)
        while _alive(current.pid):
            time.sleep(0.05)
    (state / PID_FILE).unlink(missing_ok=True)
    return f"sandbox stopped (pid {current.pid}{', killed' if forced else ''})"
