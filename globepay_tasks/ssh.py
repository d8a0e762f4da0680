"""SSH connections of remote environments: the only module that imports Fabric and paramiko.

`globepay_tasks.remote` imports it when a command really has to run on a host, so local runs
(and ``invoke --list``) never load either. Connection failures come back as one line naming
the host and what to fix; unknown host keys are refused unless configured otherwise.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import paramiko
from fabric import Config, Connection
from fabric.runners import Remote as FabricRemote
from invoke.exceptions import CommandTimedOut
from invoke.runners import Result

from .command_result import SSH_FAILED
from .hosts import Address, Remote, SshOptions
from .interrupts import ACTIVE, request_interrupt, track

#: Channels one connection carries at once (OpenSSH's MaxSessions defaults to 10).
MAX_CHANNELS = 8
SYSTEM_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")


class SshError(Exception):
    """A connection could not be opened; the message is one line naming host and cause."""


class SessionRemote(FabricRemote):
    """Fabric's remote runner, stoppable by `Running.cancel` and by an interrupt."""

    def start(self, command: str, shell: str, env: dict[str, Any], timeout: Any = None) -> None:
        super().start(command, shell, env, timeout)
        track(self)

    def terminate(self) -> None:
        """Close the channel: the command's output ends and the remote side gets EOF."""
        channel = getattr(self, "channel", None)
        if channel is not None:
            channel.close()

    def send_interrupt(self, interrupt: KeyboardInterrupt) -> None:
        request_interrupt()

    def stop(self) -> None:
        super().stop()
        ACTIVE.discard(self)


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"unknown host key for {hostname}")
        self.hostname = hostname
        self.key = key


class _Refuse(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: Any, hostname: str, key: paramiko.PKey) -> None:
        raise UnknownHostKey(hostname, key)


class _AcceptAndWarn(paramiko.MissingHostKeyPolicy):
    """``accept_unknown_hosts: true``: accept for this run only, and say so."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.warn = warn

    def missing_host_key(self, client: Any, hostname: str, key: paramiko.PKey) -> None:
        self.warn(f"warning: ssh {hostname}: accepting unknown host key {key.get_name()} "
                  f"{key.fingerprint} (globepay.ssh.accept_unknown_hosts is true)")
        client.get_host_keys().add(hostname, key.get_name(), key)


def _check_files(options: SshOptions) -> None:
    for key, path in (("known_hosts", options.known_hosts),
                      ("identity_file", options.identity_file)):
        if path and not os.path.isfile(os.path.expanduser(path)):
            raise SshError(f"globepay.ssh.{key}: {path} does not exist")


def _connection(address: Address, options: SshOptions, warn: Callable[[str], None],
                gateway: Connection | None = None) -> Connection:
    """A Connection (not yet open) that checks host keys as configured."""
    timeout = math.ceil(options.connect_timeout)
    connect_kwargs: dict[str, Any] = {"banner_timeout": timeout, "auth_timeout": timeout}
    if options.identity_file:
        connect_kwargs.update(key_filename=[os.path.expanduser(options.identity_file)],
                              look_for_keys=False, allow_agent=False)
    connection = Connection(
        address.host, user=address.user, port=address.port, gateway=gateway,
        connect_timeout=timeout, connect_kwargs=connect_kwargs,
        config=Config(overrides={"runners": {"remote": SessionRemote}}),
    )
    client = connection.client
    if options.known_hosts:
        client.load_host_keys(os.path.expanduser(options.known_hosts))
    else:
        for path in map(os.path.expanduser, SYSTEM_KNOWN_HOSTS):
            if os.path.isfile(path):
                client.load_system_host_keys(path)
    client.set_missing_host_key_policy(
        _AcceptAndWarn(warn) if options.accept_unknown_hosts else _Refuse())
    return connection


def describe_failure(error: BaseException, options: SshOptions) -> str:
    """Why a connection failed, in words that say what to fix."""
    if isinstance(error, UnknownHostKey):
        where = options.known_hosts or "~/.ssh/known_hosts"
        return (f"host key unknown ({error.key.get_name()} {error.key.fingerprint}); add it to "
                f"{where} (globepay.ssh.known_hosts) after checking it, or set "
                "globepay.ssh.accept_unknown_hosts: true")
    if isinstance(error, paramiko.BadHostKeyException):
        return (f"host key does not match the known one (offered {error.key.get_name()} "
                f"{error.key.fingerprint}); refusing to connect")
    if isinstance(error, paramiko.AuthenticationException):
        key = options.identity_file or "default keys and agent"
        return f"authentication refused (key: {key})"
    if isinstance(error, paramiko.ChannelException):
        return f"the gateway could not open a connection to it ({error.text})"
    if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
        reasons = {os.strerror(e.errno) if e.errno else str(e) for e in error.errors.values()}
        return f"host unreachable ({', '.join(sorted(reasons)).lower()})"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"host unreachable (no answer within {options.connect_timeout:g}s)"
    if isinstance(error, socket.gaierror):
        return f"host name not found ({error.strerror})"
    if isinstance(error, OSError):
        return f"host unreachable ({(error.strerror or str(error)).lower()})"
    if isinstance(error, EOFError):
        return "the server closed the connection during the handshake"
    if isinstance(error, paramiko.SSHException):
        return f"SSH failed: {error}"
    return f"{type(error).__name__}: {error}"


def _open(connection: Connection, label: str, options: SshOptions) -> None:
    try:
        connection.open()
    except Exception as error:  # noqa: BLE001 - every cause becomes one line
        raise SshError(f"{label}: {describe_failure(error, options)}") from None


def _failed(command: str, message: str, stdout: str = "", stderr: str = "") -> Result:
    stderr = f"{stderr.rstrip()}\n{message}\n" if stderr.strip() else message + "\n"
    return Result(stdout=stdout, stderr=stderr, command=command, exited=SSH_FAILED)


class Session:
    """The SSH connection of one `Remote`: opened on first use, reopened after a drop."""

    def __init__(self, remote: Remote, warn: Callable[[str], None]) -> None:
        self.remote = remote
        self.warn = warn
        self.label = f"ssh {remote.host}"
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CHANNELS)
        self._connections: list[Connection] = []

    def _connect(self) -> Connection:
        with self._lock:
            if self._connections and self._connections[-1].is_connected:
                return self._connections[-1]
            self._close()
            options = self.remote.ssh
            _check_files(options)
            gateway = None
            if self.remote.gateway:
                gateway = _connection(self.remote.gateway, options, self.warn)
                self._connections.append(gateway)
                _open(gateway, f"ssh gateway {self.remote.gateway}", options)
            connection = _connection(self.remote.host, options, self.warn, gateway)
            self._connections.append(connection)
            via = f" (via {self.remote.gateway})" if gateway else ""
            _open(connection, f"{self.label}{via}", options)
            return connection

    def run(self, command: str, options: dict[str, Any]) -> Result:
        """Run ``command`` on the host; a connection failure is exit code 255 and one line."""
        with self._slots:
            try:
                connection = self._connect()
            except SshError as error:
                return _failed(command, str(error))
            try:
                result = connection.run(command, **options)
            except CommandTimedOut:
                raise
            except Exception as error:
                if connection.is_connected:
                    raise
                return _failed(command, f"{self.label}: connection lost ({error})")
            if result.exited == -1 and not connection.is_connected:
                return _failed(command, f"{self.label}: connection lost", result.stdout,
                               result.stderr)
            return result

    def _close(self) -> None:
        for connection in reversed(self._connections):
            with contextlib.suppress(Exception):  # already broken
                connection.close()
        self._connections = []

    def close(self) -> None:
        with self._lock:
            self._close()
