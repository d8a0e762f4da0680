"""Checks of single values of the ``globepay`` configuration: each returns the value in its
Python form or raises a `ConfigError` naming the key (``where``) and what it must be."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
#: A duration as kubectl's and Helm's --timeout take it: 90s, 5m, 1h30m.
DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?"
                      r"(?:(?P<s>\d+(?:\.\d+)?)s)?$")


def reject_unknown_keys(where: str, given: Mapping, allowed: set[str]) -> None:
    """A `ConfigError` naming the first key of ``given`` that is not ``allowed``."""
    extra = sorted(set(given) - allowed)
    if extra:
        raise ConfigError(
            f"unknown configuration key {where}.{extra[0]} (allowed: {', '.join(sorted(allowed))})"
        )


def parse_seconds(where: str, value: Any, *, minimum: float = 0.0) -> float:
    """A number of seconds (or a string of one, or a `DURATION`) greater than ``minimum``."""
    bad = ConfigError(f"{where} must be a number of seconds or a duration (90s, 5m), "
                      f"not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad
    duration = DURATION.match(value) if isinstance(value, str) and value else None
    try:
        number = (sum(float(duration[unit] or 0) * scale
                      for unit, scale in (("h", 3600), ("m", 60), ("s", 1)))
                  if duration else float(value))
    except ValueError:
        raise bad from None
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number of seconds, not {value!r}")
    if number <= minimum:
        raise ConfigError(f"{where} must be greater than {minimum:g}, not {value!r}")
    return number


def parse_bool(where: str, value: Any) -> bool:
    """true or false, also spelt as a string: true/false, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def parse_image_names(where: str, raw: Any) -> tuple[str, ...]:
    """A list of image names, or one comma-separated string of them; () for null."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise ConfigError(f"{where} must be a list of image names")
    return tuple(raw)


def parse_count(where: str, value: Any, *, minimum: int = 1) -> int:
    """A whole number of ``minimum`` or more."""
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < minimum:
        raise ConfigError(f"{where} must be a whole number of {minimum} or more, not {value!r}")
    return int(value)


def check_name(what: str, value: str) -> str:
    """``value`` if it is a DNS-1123 label; a `ConfigError` naming ``what`` otherwise."""
    if not isinstance(value, str) or not DNS_LABEL.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a valid name (lowercase letters, digits and '-', "
            "at most 63 characters)"
        )
    return value


def parse_path(where: str, value: Any) -> str | None:
    """A non-empty path, or None for null."""
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where} must be a path or null")
    return value
