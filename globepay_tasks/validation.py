"""Validation of user input before it reaches a command: names, revisions, image references."""

from __future__ import annotations

import re

from .config_values import check_name
from .errors import ConfigError

# The OCI distribution reference grammar (docker/distribution's reference package), reduced to
# what a reference may contain: [host[:port]/]path[:tag][@algorithm:hex].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"  # noqa: E501
_NAME = rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$")


def check_image_reference(value: str) -> str:
    """``value`` if it is a valid image reference; a one-line `ConfigError` otherwise."""
    if not IMAGE_REFERENCE.match(value) or len(value) > 512:
        raise ConfigError(
            f"image reference {value!r} is not valid (expected [registry/]name[:tag][@sha256:...])"
        )
    return value


def check_workload_name(value: str) -> str:
    return check_name("workload", value)


def check_revision(value: object) -> int:
    """A positive revision number from a flag value."""
    return check_count("--to-revision", value)


#: The largest revision Kubernetes (an int64) and kubectl's flags take.
MAX_COUNT = 2**63 - 1


def check_count(flag: str, value: object) -> int:
    """A positive whole number from a flag value (at most `MAX_COUNT`)."""
    text = str(value)
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{flag} {text!r} must be a positive whole number")
    if int(text) > MAX_COUNT:
        raise ConfigError(f"{flag} {text} is out of range (at most {MAX_COUNT})")
    return int(text)
