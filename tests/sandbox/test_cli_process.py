"""``python -m globepay_tasks.sandbox`` and the background process helpers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from globepay_tasks.sandbox import process


def _kubectl(kubectl_bin: str, kubeconfig: Path, *args: str, context: str = "globepay-dev",
             cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECACHEDIR": str(cache)}
    return subprocess.run([kubectl_bin, "--kubeconfig", str(kubeconfig), "--context", context,
                           *args], capture_output=True, text=True, env=env, timeout=60)


def test_background_start_status_stop(tmp_path: Path, kubectl_bin: str) -> None:
    state = tmp_path / "state"
    pid, kubeconfig = process.start_background(state, clusters=("dev", "prod"),
                                               rollout_seconds=1, time_scale=50,
                                               server_version="1.31.2")
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        assert [c["name"] for c in config["contexts"]] == ["globepay-dev", "globepay-prod"]
        assert config["current-context"] == "globepay-dev"
        assert config["users"][0]["user"]["token"]
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        current = process.status(state)
        assert current.running and current.pid == pid
        with pytest.raises(process.SandboxProcessError, match="already running"):
            process.start_background(state)
        created = _kubectl(kubectl_bin, kubeconfig, "create", "namespace", "shop",
                           "--dry-run=client", "-o", "yaml", cache=tmp_path / "c")
        applied = subprocess.run(
            [kubectl_bin, "--kubeconfig", str(kubeconfig), "--context", "globepay-prod",
             "apply", "-f", "-"], input=created.stdout, capture_output=True, text=True,
            env={**os.environ, "KUBECACHEDIR": str(tmp_path / "c")}, timeout=60)
        assert applied.returncode == 0, applied.stderr
        version = _kubectl(kubectl_bin, kubeconfig, "version", cache=tmp_path / "c")
        assert "Server Version: v1.31.2" in version.stdout
        assert "namespace/shop" in _kubectl(kubectl_bin, kubeconfig, "get", "ns", "-o", "name",
                                            context="globepay-prod", cache=tmp_path / "c").stdout
        assert "namespace/shop" not in _kubectl(kubectl_bin, kubeconfig, "get", "ns", "-o",
                                                "name", cache=tmp_path / "c").stdout
    finally:
        message = process.stop_background(state)
    assert message == f"sandbox stopped (pid {pid})"
    assert not process.status(state).running
    assert not (state / process.PID_FILE).exists()
    assert kubeconfig.exists()  # nothing removed that it was not asked to remove
    log = (state / process.REQUEST_LOG).read_text().splitlines()
    assert any(line.startswith("prod POST /api/v1/namespaces?") and " 201 " in line
               for line in log)
    assert "not running" in process.stop_background(state)


def test_background_start_failure_reports_the_output(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(process.SandboxProcessError, match="cannot listen"):
            process.start_background(tmp_path / "state", port=port)
    assert not process.status(tmp_path / "state").running


def test_cli_exits_zero_on_sigterm_and_rejects_bad_arguments(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen([sys.executable, "-m", "globepay_tasks.sandbox", "--kubeconfig",
                             str(kubeconfig), "--clusters", "qa,live",
                             "--context", "live=kind-live"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        written = yaml.safe_load(kubeconfig.read_text())
        assert written["current-context"] == "globepay-qa"
        assert [c["name"] for c in written["contexts"]] == ["globepay-qa", "kind-live"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert ("sandbox: serving qa (context globepay-qa), live (context kind-live) at "
            "http://127.0.0.1:") in out
    bad = subprocess.run([sys.executable, "-m", "globepay_tasks.sandbox", "--kubeconfig",
                          str(kubeconfig), "--time-scale", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--time-scale" in bad.stderr
    unserved = subprocess.run([sys.executable, "-m", "globepay_tasks.sandbox", "--kubeconfig",
                               str(kubeconfig), "--clusters", "qa", "--context", "prod=x"],
                              capture_output=True, text=True, timeout=30)
    assert unserved.returncode == 1
    assert unserved.stderr == "sandbox: contexts of clusters not served: prod\n"
