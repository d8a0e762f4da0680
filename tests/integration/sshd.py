"""A real OpenSSH server on 127.0.0.1 for the remote tests.

Each `SshServer` generates its own host key, an authorized user key and an unauthorized one,
picks a free port and runs ``sshd -D -e`` as the current user, in a session of its own. The
same machine (with the test's sandbox) is "behind" it, so the remote kubectl is the pinned
binary by absolute path. Commands it runs see ``GLOBEPAY_SSH_TEST=remote``, a private
``TMPDIR`` and a private ``KUBECACHEDIR``; ``SHLVL=1`` keeps bash from sourcing the user's
~/.bashrc for every command, as it otherwise does under sshd.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f",
                    str(path)], check=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


class SshServer:
    """One sshd; `address` is what an environment's ``host`` (or ``gateway``) is set to."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.host_key = directory / "host_key"
        self.user_key = directory / "user_key"
        self.other_key = directory / "other_key"
        for key in (self.host_key, self.user_key, self.other_key):
            _keygen(key)
        (directory / "authorized_keys").write_text(
            (directory / "user_key.pub").read_text())
        self.remote_tmp = directory / "remote-tmp"
        self.remote_tmp.mkdir()
        self.port = _free_port()
        self.user = getpass.getuser()
        self.address = f"{self.user}@127.0.0.1:{self.port}"
        self.known_hosts = directory / "known_hosts"
        public = (directory / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        self.log = directory / "sshd.log"
        self.config = directory / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "StrictModes no",
            "UsePAM no",
            "AllowTcpForwarding yes",
            "LogLevel VERBOSE",
            f"SetEnv SHLVL=1 GLOBEPAY_SSH_TEST=remote TMPDIR={self.remote_tmp} "
            f"KUBECACHEDIR={directory / 'remote-kubecache'}",
            "",
        ]))
        self.process: subprocess.Popen | None = None

    def start(self) -> SshServer:
        with contextlib.suppress(PermissionError):  # privilege separation, when root
            Path("/run/sshd").mkdir(exist_ok=True)
        log = self.log.open("a")
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while "Server listening" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start:\n{self.log.read_text()}")
            time.sleep(0.02)
        return self

    def descendants(self) -> list[int]:
        """The pids below the listener: one sshd pair per connection and its commands."""
        if self.process is None:
            return []
        tree, found, todo = _children(), [], [self.process.pid]
        while todo:
            for child in tree.get(todo.pop(), []):
                found.append(child)
                todo.append(child)
        return found

    def drop_connections(self, pids: list[int] | None = None) -> None:
        """Kill every connection (and the commands it runs); the listener stays."""
        for pid in self.descendants() if pids is None else pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop listening, then drop every connection (so that none can be opened again)."""
        if self.process is None:
            return
        connections = self.descendants()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.drop_connections(connections)
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text()

    def logins(self) -> int:
        return self.log_text().count("Accepted publickey")

    def connections(self) -> list[str]:
        """The client ports of every connection accepted so far, in order."""
        return re.findall(r"Connection from \S+ port (\d+)", self.log_text())

    def sessions(self) -> list[str]:
        """The client ports of the connections that ran commands."""
        return re.findall(r"Starting session: \S+ for \S+ from \S+ port (\d+)", self.log_text())


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    server = SshServer(tmp_path / "sshd").start()
    try:
        yield server
    finally:
        server.stop()


def use_ssh(project, server: SshServer, *, key: Path | None = None,
            known_hosts: Path | None = None) -> None:
    """Point the project's ``globepay.ssh`` at this server's keys."""
    project.settings["ssh"] = {
        "identity_file": str(key or server.user_key),
        "known_hosts": str(known_hosts or server.known_hosts),
    }
