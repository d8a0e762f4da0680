"""Offline validation of rendered objects against the official Kubernetes schemas.

The schemas come from the optional ``kubernetes-validate`` package (``pip install
'globepay-tasks[validate]'``): what `invoke validate --offline` checks, and what the preflight
checks for an environment its cluster cannot dry-run yet (its namespace does not exist).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from . import kubectl
from .errors import ConfigError

#: The Kubernetes version whose schemas are used when the server's is not known.
DEFAULT_VERSION = "1.37"
_UNEXPECTED = re.compile(r"'([^']+)'")


class SchemasMissing(ConfigError):
    """The optional ``kubernetes-validate`` package is not installed."""


def _utils():  # the package's own module
    try:
        from kubernetes_validate import utils
    except ImportError:
        raise SchemasMissing("offline validation needs the Kubernetes schemas: pip install "
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
    """(``kind/name``, what is wrong) for each fault the strict schemas of ``version`` find
    in ``objects``: unknown fields (``unknown field "spec.replicass"``), wrong types, missing
    required fields. Kinds without a schema (custom resources) are not checked."""
    found = []
    for obj in objects:
        what = kubectl.kind_name(obj)
        validator = _validator(str(obj.get("kind", "")), str(obj.get("apiVersion", "")),
                               version)
        if validator is None:
            continue
        errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.path])
        found += [(what, describe(error)) for error in errors]
    return found


@cache
def _validator(kind: str, api_version: str, version: str):  # a jsonschema validator
    """The strict schema of ``kind`` in ``api_version`` for Kubernetes ``version`` (None:
    the package has none), with its definitions."""
    utils = _utils()
    import jsonschema
    from referencing import Registry, Resource

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = utils.schema_contents(f"{directory}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = utils.schema_contents(f"{directory}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema)
                                                       @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


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
