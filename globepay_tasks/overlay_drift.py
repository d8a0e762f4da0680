"""How an environment's live objects differ from what its overlay renders: every namespaced
kind, each object named with what differs. ConfigMap and Secret data are compared by hashes of
their values, never by the values. Images are left out (promotions change them on purpose:
`globepay_tasks.status.drift` compares them between environments), and so are the replicas of
a workload a rendered HorizontalPodAutoscaler scales. Pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from . import applyset, fielddiff, kinds
from .guards import CLUSTER_SCOPED_KINDS
from .phases import key
from .snapshot import Snapshot

DATA_KINDS = ("ConfigMap", "Secret")
_DATA_FIELDS = ("data", "binaryData", "stringData")


def data_hashes(obj: dict) -> dict[str, str]:
    """Key -> sha256 of its value as the server stores it (a ConfigMap's ``data`` and
    ``binaryData``; a Secret's ``data``, its ``stringData`` base64-encoded first)."""
    values = {k: str(v) for field in ("data", "binaryData")
              for k, v in (obj.get(field) or {}).items()}
    for name, value in (obj.get("stringData") or {}).items():
        values[name] = base64.b64encode(str(value).encode()).decode()
    return {name: hashlib.sha256(value.encode()).hexdigest() for name, value in values.items()}


def _scaled(objects: Sequence[dict]) -> set[tuple[str, str]]:
    """(kind, name) of each workload a rendered HorizontalPodAutoscaler scales."""
    return {(str(ref.get("kind")), str(ref.get("name"))) for obj in objects
            if obj.get("kind") == "HorizontalPodAutoscaler"
            for ref in [(obj.get("spec") or {}).get("scaleTargetRef") or {}]}


def _fields(obj: dict, live: dict, scaled: set[tuple[str, str]]) -> list[str]:
    kind = obj.get("kind", "")
    paths = [path for path in fielddiff.live_paths(obj, live)
             if not path.startswith("metadata.namespace")]
    if kind in DATA_KINDS:
        wanted, have = data_hashes(obj), data_hashes(live)
        keys = sorted(k for k in set(wanted) | set(have) if wanted.get(k) != have.get(k))
        paths = [f"data.{k}" for k in keys] + [
            path for path in paths if not path.startswith(tuple(f"{f}." for f in _DATA_FIELDS))]
    if kinds.is_templated(obj):
        paths = [path for path in paths if not path.endswith(".image")
                 and not (path == "spec.replicas" and key(obj) in scaled)]
    return paths


def differences(rendered: Sequence[dict], live: Snapshot, namespace: str) -> dict[str, Any]:
    """Each rendered namespaced object that is missing or differs (its field paths; a
    ConfigMap's or Secret's keys), and each object an earlier promotion applied that the
    overlay no longer renders; ``in_sync`` when there is none."""
    scaled = _scaled(rendered)
    found = []
    compared = [obj for obj in rendered if obj.get("kind") not in CLUSTER_SCOPED_KINDS]
    for obj in compared:
        name = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
        have = live.find(*key(obj))
        if have is None:
            found.append({"object": name, "state": "missing", "fields": []})
        elif fields := _fields(obj, have, scaled):
            found.append({"object": name, "state": "differs", "fields": fields})
    wanted = {key(obj) for obj in rendered}
    found += [{"object": f"{obj['kind'].lower()}/{obj['metadata']['name']}",
               "state": "not in the overlay", "fields": []}
              for obj in applyset.members(live.objects, namespace) if key(obj) not in wanted]
    return {"compared": len(compared), "objects": found, "in_sync": not found}
