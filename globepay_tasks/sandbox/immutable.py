"""Fields an update may not change, refused with the API server's 422 wording.

- Deployment, ReplicaSet, StatefulSet, DaemonSet, Job: ``spec.selector`` (``field is
  immutable``); Job: ``spec.template``.
- Service: the allocated cluster IPs (``spec.clusterIPs[0]: Invalid value: ["10.96.0.9"]: may not
  change once set``). An update that leaves ``clusterIP``/``clusterIPs`` unset keeps the
  allocated ones, and a changed ``clusterIP`` carries ``clusterIPs`` along, as the Service
  registry does before validating (:func:`carry_allocated`).
- PersistentVolumeClaim: ``spec`` except ``resources.requests.storage`` (a real server allows that
  only for a bound claim; the sandbox binds nothing), a first ``volumeName``, a first
  ``storageClassName`` and, for a bound claim, ``volumeAttributesClassName``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .errors import invalid
from .goparse import QuantityError, parse_quantity
from .resources import ResourceType

Cause = tuple[str, str, str]

_SELECTOR_IMMUTABLE = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"})
PVC_IMMUTABLE = ("spec is immutable after creation except resources.requests and "
                 "volumeAttributesClassName for bound claims")


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def carry_allocated(rt: ResourceType, old: dict, new: dict) -> None:
    """Fill what a Service update leaves unset from the allocated values (in place)."""
    if rt.kind != "Service" or not isinstance(new.get("spec"), dict):
        return
    old_spec, new_spec = _spec(old), new["spec"]
    if "ExternalName" in (old_spec.get("type"), new_spec.get("type")):
        return
    if not new_spec.get("clusterIP") and old_spec.get("clusterIP"):
        new_spec["clusterIP"] = old_spec["clusterIP"]
    if not new_spec.get("clusterIPs") and old_spec.get("clusterIPs"):
        new_spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if new_spec.get("clusterIP") != old_spec.get("clusterIP") and \
            new_spec.get("clusterIPs") == old_spec.get("clusterIPs"):
        new_spec["clusterIPs"] = [new_spec["clusterIP"]]  # a changed clusterIP drags the list


def _selector_causes(rt: ResourceType, old: dict, new: dict) -> list[Cause]:
    old_spec, new_spec = _spec(old), _spec(new)
    causes: list[Cause] = []
    if rt.kind in _SELECTOR_IMMUTABLE and old_spec.get("selector") != new_spec.get("selector"):
        causes.append(("spec.selector", "FieldValueInvalid",
                       f"Invalid value: {_compact(new_spec.get('selector'))}: field is immutable"))
    if rt.kind == "Job" and old_spec.get("template") != new_spec.get("template"):
        causes.append(("spec.template", "FieldValueInvalid",
                       "Invalid value: ...: field is immutable"))
    return causes


def _headless(spec: dict) -> bool:
    return spec.get("clusterIPs") == ["None"]


def _service_causes(old: dict, new: dict) -> list[Cause]:
    """``validateUpgradeDowngradeClusterIPs``."""
    old_spec, new_spec = _spec(old), _spec(new)
    if "ExternalName" in (old_spec.get("type"), new_spec.get("type")):
        return []
    if _headless(old_spec) and _headless(new_spec):
        return []
    before, after = old_spec.get("clusterIPs") or [], new_spec.get("clusterIPs") or []
    shown = _compact(new_spec.get("clusterIPs"))

    def cause(index: int, detail: str) -> Cause:
        return (f"spec.clusterIPs[{index}]", "FieldValueInvalid",
                f"Invalid value: {shown}: {detail}")

    if len(before) == len(after):
        return [cause(i, "may not change once set") for i, ip in enumerate(before)
                if ip != after[i]]
    if len(before) > len(after) and not after:
        return [cause(0, "primary clusterIP can not be unset")]
    if before and after[0] != before[0]:
        return [cause(0, "may not change once set")]
    return []


def _storage(spec: dict) -> Decimal | None:
    requests = (spec.get("resources") or {}).get("requests") or {}
    try:
        return parse_quantity(str(requests["storage"]).strip())
    except (KeyError, QuantityError):
        return None


def _go_name(field: str) -> str:
    return field[:1].upper() + field[1:]


def _pvc_causes(old: dict, new: dict) -> list[Cause]:
    """``ValidatePersistentVolumeClaimUpdate`` (the spec part)."""
    old_spec, new_spec = json.loads(json.dumps(_spec(old))), json.loads(json.dumps(_spec(new)))
    if not old_spec.get("volumeName") and new_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec["volumeName"]  # set once by the binder
    if old_spec.get("storageClassName") is None and new_spec.get("storageClassName"):
        old_spec["storageClassName"] = new_spec["storageClassName"]  # retroactive default
    if (new.get("status") or {}).get("phase") == "Bound":
        old_spec["volumeAttributesClassName"] = new_spec.get("volumeAttributesClassName")
    for spec in (old_spec, new_spec):
        requests = (spec.get("resources") or {}).get("requests")
        if isinstance(requests, dict):
            requests.pop("storage", None)
    causes: list[Cause] = []
    changed = sorted(k for k in old_spec.keys() | new_spec.keys()
                     if old_spec.get(k) != new_spec.get(k))
    if changed:
        lines = ["  core.PersistentVolumeClaimSpec{"]
        for key in changed:
            if key in old_spec:
                lines.append(f"- \t{_go_name(key)}: {_compact(old_spec[key])},")
            if key in new_spec:
                lines.append(f"+ \t{_go_name(key)}: {_compact(new_spec[key])},")
        lines.append("  }")
        causes.append(("spec", "FieldValueForbidden",
                       f"Forbidden: {PVC_IMMUTABLE}\n" + "\n".join(lines)))
    before, after = _storage(_spec(old)), _storage(_spec(new))
    capacity = ((old.get("status") or {}).get("capacity") or {}).get("storage")
    if before is not None and after is not None and after < before:
        try:
            floor = parse_quantity(str(capacity).strip()) if capacity else Decimal(0)
        except QuantityError:
            floor = Decimal(0)
        if after <= floor:
            causes.append(("spec.resources.requests.storage", "FieldValueForbidden",
                           "Forbidden: field can not be less than status.capacity"))
    return causes


def validate_update(rt: ResourceType, old: dict, new: dict) -> None:
    """422 Invalid if ``new`` (defaulted) changes a field ``old`` may not see changed."""
    causes = _selector_causes(rt, old, new)
    if rt.kind == "Service":
        causes += _service_causes(old, new)
    elif rt.kind == "PersistentVolumeClaim":
        causes += _pvc_causes(old, new)
    if causes:
        raise invalid(rt, (new.get("metadata") or {}).get("name") or "", causes)


__all__ = ["PVC_IMMUTABLE", "carry_allocated", "validate_update"]
