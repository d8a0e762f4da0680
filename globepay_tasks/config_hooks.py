"""The ``pre_promotion`` and ``post_promotion`` hooks of the configuration, parsed into `Hook`s."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .config_values import parse_bool, parse_count, parse_seconds, reject_unknown_keys
from .errors import ConfigError
from .settings import Hook

HOOK_KEYS = {
    "run": {"run", "timeout", "name", "remote"},
    "http": {"http", "expect", "timeout", "retries", "name"},
    "python": {"python", "timeout", "name"},
}


def parse_hook(where: str, raw: Any) -> Hook:
    """One hook from its configuration form (string, argument list or mapping)."""
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigError(f"{where} is an empty command")
        return Hook("shell", raw)
    if isinstance(raw, list):
        if not raw or not all(isinstance(arg, str) and arg for arg in raw):
            raise ConfigError(f"{where} must be a non-empty list of strings")
        return Hook("exec", tuple(raw))
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a command string, a list or a mapping, not {raw!r}")
    kinds = [kind for kind in HOOK_KEYS if kind in raw]
    if len(kinds) != 1:
        raise ConfigError(
            f"{where} has unknown hook type (give exactly one of: run, http, python; got "
            f"{', '.join(sorted(raw)) or 'nothing'})"
        )
    kind = kinds[0]
    reject_unknown_keys(where, raw, HOOK_KEYS[kind])
    timeout = parse_seconds(f"{where}.timeout", raw["timeout"]) if raw.get("timeout") else None
    name = str(raw.get("name") or "")
    if kind == "run":
        inner = parse_hook(f"{where}.run", raw["run"])
        remote = parse_bool(f"{where}.remote", raw.get("remote", False))
        return Hook(inner.kind, inner.target, timeout=timeout, name=name, remote=remote)
    if kind == "http":
        url = raw["http"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.http must be an http:// or https:// URL, not {url!r}")
        expect = parse_count(f"{where}.expect", raw.get("expect", 200), minimum=100)
        if expect > 599:
            raise ConfigError(f"{where}.expect must be an HTTP status (100-599), not {expect}")
        retries = parse_count(f"{where}.retries", raw.get("retries", 0), minimum=0)
        return Hook("http", url, timeout=timeout, expect=expect, retries=retries, name=name)
    target = raw["python"]
    if not isinstance(target, str) or not re.fullmatch(r"[\w.]+:[\w.]+", target):
        raise ConfigError(f"{where}.python must be 'module:function', not {target!r}")
    return Hook("python", target, timeout=timeout, name=name)


def parse_hooks(where: str, raw: Any) -> tuple[Hook, ...]:
    """A list of hooks (``where[index]`` in messages); () for null."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of hooks")
    return tuple(parse_hook(f"{where}[{index}]", item) for index, item in enumerate(raw))
