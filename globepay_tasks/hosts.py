"""Where a remote environment's commands run: SSH addresses, jump hosts and SSH options.

Plain data and parsing only; the connection itself lives in `globepay_tasks.ssh`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

_ADDRESS = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9_.][A-Za-z0-9_.-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9_.-]*)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)


@dataclass(frozen=True)
class Address:
    """``user@host:port`` of an SSH server (user and port optional)."""

    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        text = f"{self.user}@{self.host}" if self.user else self.host
        return f"{text}:{self.port}" if self.port else text


def parse_address(where: str, value: object) -> Address:
    """An `Address` from ``user@host:port``; a `ConfigError` naming ``where`` otherwise."""
    match = _ADDRESS.match(value) if isinstance(value, str) else None
    port = int(match["port"]) if match and match["port"] else None
    if match is None or (port is not None and not 0 < port < 65536):
        raise ConfigError(f"{where} must look like user@host:port (user and port optional), "
                          f"not {value!r}")
    host = match["host"].strip("[]")
    return Address(host, match["user"], port)


@dataclass(frozen=True)
class SshOptions:
    """``globepay.ssh``: how connections are authenticated, both ways."""

    known_hosts: str | None = None
    accept_unknown_hosts: bool = False
    identity_file: str | None = None
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class Remote:
    """A host to run commands on, optionally reached through a jump host."""

    host: Address
    gateway: Address | None = None
    ssh: SshOptions = SshOptions()

    def __str__(self) -> str:
        return str(self.host)
