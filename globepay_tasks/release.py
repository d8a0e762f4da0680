"""A release: the objects a promotion applied, as its history record keeps them (each
Secret's values left out, only a hash of each value kept) and the Secret beside the record
that holds those values. Pure functions, no I/O."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError

SECRETS_KEY = "secrets.json.gz"
#: Where a Secret holds its values.
FIELDS = ("data", "stringData")
SECRETS_LABELS = {"app.kubernetes.io/managed-by": "globepay-tasks",
                  "globepay.dev/record": "release-secrets"}


def _values(secret: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A Secret's values as the overlay gives them: ``data`` (base64) and ``stringData``."""
    return {field: {key: str(value) for key, value in (secret.get(field) or {}).items()}
            for field in FIELDS if secret.get(field)}


def _hashes(values: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    return {f"{field}.{key}": _hash(value) for field, found in values.items()
            for key, value in found.items()}


def _hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def recorded(objects: Iterable[dict]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """What a record keeps of ``objects`` (``{"objects": [...], "secret_hashes": {secret:
    {"data.KEY": hash}}}``, no Secret value in it) and the Secrets' values (secret ->
    ``data``/``stringData`` -> key -> value, as the overlay gives them), kept apart."""
    kept, hashes, values = [], {}, {}
    for obj in objects:
        if obj.get("kind") == "Secret":
            name = obj["metadata"]["name"]
            values[name] = _values(obj)
            hashes[name] = _hashes(values[name])
            obj = {key: value for key, value in obj.items() if key not in FIELDS}
        kept.append(obj)
    return {"objects": kept, "secret_hashes": hashes}, values


def secrets_manifest(namespace: str, name: str, values: Mapping[str, Mapping[str, str]]) -> dict:
    """The Secret ``name`` holding the values of a release's Secrets."""
    packed = gzip.compress(json.dumps(values, sort_keys=True).encode(), mtime=0)
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(SECRETS_LABELS)},
            "data": {SECRETS_KEY: base64.b64encode(packed).decode()}}


def secret_values(obj: dict | None) -> dict[str, dict[str, str]]:
    """The values a release's Secret holds (empty when there is none or it is unreadable)."""
    try:
        packed = base64.b64decode(((obj or {}).get("data") or {})[SECRETS_KEY])
        values = json.loads(gzip.decompress(packed).decode())
    except (KeyError, ValueError, OSError, EOFError):
        return {}
    return values if isinstance(values, dict) else {}


def objects_of(release: Mapping[str, Any], values: Mapping[str, Mapping[str, str]],
               record_id: str) -> list[dict]:
    """The objects of a recorded release, each Secret with its values again; a `ConfigError`
    when a value is missing or is not the one recorded."""
    objects = []
    for obj in release.get("objects") or []:
        if obj.get("kind") == "Secret":
            name = obj["metadata"]["name"]
            hashes = (release.get("secret_hashes") or {}).get(name) or {}
            found = {field: dict(values.get(name, {}).get(field) or {}) for field in FIELDS
                     if isinstance(values.get(name), dict) and values[name].get(field)}
            if _hashes(found) != hashes:
                raise ConfigError(f"release {record_id}: the values of secret/{name} are not "
                                  "recorded (or not the ones it applied); it cannot be restored")
            obj = {**obj, **found}
        objects.append(obj)
    return objects


def has_release(record: Mapping[str, Any]) -> bool:
    return bool((record.get("release") or {}).get("objects"))
