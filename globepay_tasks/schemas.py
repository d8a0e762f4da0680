"""Offline validation of rendered objects against the official Kubernetes schemas.

The schemas come from the optional ``kubernetes-validate`` package (``pip install
'globepay-tasks[validate]'``): what `invoke validate --offline` checks, and what the preflight
checks for an environment its cluster cannot dry-run yet (its namespace does not exist).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ConfigError

#: The Kubernetes version whose schemas are used when the server's is not known.
DEFAULT_VERSION = "1.37"
_UNEXPECTED = re.compile(r"'([^']+)'")


def _utils():  # the package's own module
    try:
        from kubernetes_validate import utils
    except ImportError:
        raise ConfigError("offline validation needs the Kubernetes schemas: pip install "
                          "'globepay-tasks[validate]'") from None
    return utils


def schema_version(server_version: str | None) -> str:
    """The schemas' version closest to ``server_version`` (``1.37``): the same minor version
    when the package has it, else its newest."""
    utils = _utils()
    have = sorted({utils.major_minor(v) for v in utils.all_versions()},
                  key=lambda v: tuple(int(p) for p in v.split(".")))
    wanted = utils.major_minor(server_version) if server_version else DEFAULT_VERSION
    return wanted if wanted in have else have[-1]


def problems(objects: Iterable[dict], version: str = DEFAULT_VERSION) -> list[tuple[str, str]]:
    """(``kind/name``, what is wrong) for each object the strict schemas of ``version``
    reject: unknown fields (``unknown field "spec.replicass"``), wrong types, missing
    required fields. Kinds without a schema (custom resources) are not checked."""
    utils = _utils()
    found = []
    for obj in objects:
        what = f"{str(obj.get('kind', '')).lower()}/{(obj.get('metadata') or {}).get('name')}"
        try:
            utils.validate(obj, version, strict=True)
        except utils.SchemaNotFoundError:
            continue
        except utils.ValidationError as error:
            found.append((what, describe(error)))
    return found


def describe(error: Exception) -> str:
    """A schema error in the API server's words where they exist."""
    path = ".".join(str(part) if not isinstance(part, int) else f"[{part}]"
                    for part in getattr(error, "absolute_path", ())).replace(".[", "[")
    message = getattr(error, "message", str(error))
    if getattr(error, "validator", "") == "additionalProperties":
        names = _UNEXPECTED.findall(message)
        return ", ".join(f'unknown field "{path + "." if path else ""}{name}"'
                         for name in names)
    return f"{path}: {message}" if path else message
