"""Which fields of an object an apply changes, named as paths (``data.LOG_LEVEL``,
``spec.template.spec.containers[backend].env``), and which keys of a Secret, never its
values. Pure functions, no I/O."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from .kubectl import LAST_APPLIED_ANNOTATION

#: Fields the server sets or the apply manages: never a change of the rendered object.
_SERVER_FIELDS = ("status", "metadata.uid", "metadata.resourceVersion", "metadata.generation",
                  "metadata.creationTimestamp", "metadata.managedFields", "metadata.selfLink")


def last_applied(live: dict) -> dict | None:
    """The object as ``kubectl apply`` last wrote it (None when it never did)."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    try:
        found = json.loads(text) if text else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def changed_paths(rendered: dict, live: dict) -> list[str]:
    """The paths where ``rendered`` differs from what the last apply wrote (its fields
    removed count too), or, for an object never applied, where it differs from the live
    object (the server's defaults are not changes)."""
    applied = last_applied(live)
    if applied is not None:
        return sorted(set(_differences(rendered, applied, "", exact=True)))
    return sorted(set(_differences(rendered, live, "", exact=False)))


def live_paths(rendered: dict, live: dict) -> list[str]:
    """The paths where ``rendered`` differs from the live object, whatever the last apply
    wrote (fields only the live object has, the server's defaults, are not differences)."""
    return sorted(set(_differences(rendered, live, "", exact=False)))


def _differences(wanted: object, have: object, path: str, *, exact: bool) -> Iterator[str]:
    if path in _SERVER_FIELDS or path == f"metadata.annotations.{LAST_APPLIED_ANNOTATION}":
        return
    if _empty(wanted) and _empty(have):  # kubectl records no annotations as ``{}``
        return
    if isinstance(wanted, dict) or isinstance(have, dict):
        wanted, have = wanted or {}, have or {}
    if isinstance(wanted, dict) and isinstance(have, dict):
        keys = set(wanted) | set(have) if exact else set(wanted)
        for name in keys:
            yield from _differences(wanted.get(name), have.get(name), _join(path, name),
                                    exact=exact)
    elif isinstance(wanted, list) and isinstance(have, list) and len(wanted) == len(have):
        for index, (item, had) in enumerate(zip(wanted, have, strict=True)):
            label = item.get("name") if isinstance(item, dict) else None
            yield from _differences(item, had, f"{path}[{label or index}]", exact=exact)
    elif wanted != have:
        yield path or "(object)"


def _empty(value: object) -> bool:
    return value is None or value == {} or value == []


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def secret_keys(rendered: dict, live: dict | None) -> str:
    """Which keys of a Secret an apply adds, changes or removes (``keys changed:
    password; added: token``), from its ``data`` and ``stringData``; values are never
    read out."""
    wanted = _secret_values(rendered)
    if live is None:
        return f"keys: {', '.join(sorted(wanted))}" if wanted else ""
    applied = last_applied(live)
    have = _secret_values(applied if applied is not None else live)
    parts = []
    for label, names in (("changed", [k for k in wanted if k in have and wanted[k] != have[k]]),
                         ("added", [k for k in wanted if k not in have]),
                         ("removed", [k for k in have if k not in wanted] if applied else [])):
        if names:
            parts.append(f"{label}: {', '.join(sorted(names))}")
    return f"keys {'; '.join(parts)}" if parts else ""


def _secret_values(secret: dict) -> dict[str, str]:
    """Key -> value as the server stores it (base64 of ``stringData`` values)."""
    values = {key: str(value) for key, value in (secret.get("data") or {}).items()}
    for key, value in (secret.get("stringData") or {}).items():
        values[key] = base64.b64encode(str(value).encode()).decode()
    return values
