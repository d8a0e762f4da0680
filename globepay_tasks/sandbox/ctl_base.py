"""What the per-kind controllers share: resource types by kind, writes through the store that
happen only when something changed, and condition bookkeeping.

`controllers.ControllerManager` runs the controllers; they import only this module and know
the manager as a `Manager`."""

from __future__ import annotations

from typing import Protocol

from .clock import SimClock
from .resources import ResourceType, by_kind
from .store import Store


class Manager(Protocol):
    """What a per-kind controller uses of the manager that runs it."""

    store: Store
    clock: SimClock
    rollout_seconds: float
    #: pod uid -> simulated time its containers start (it becomes ready, unless they crash)
    pod_ready_at: dict[str, float]
    #: pod uid -> simulated time its image pull first failed (a "broken" image)
    pod_pull_failed_at: dict[str, float]


def rt_of(kind: str, api_version: str = "apps/v1") -> ResourceType:
    """Resource type by kind (raises if not served)."""
    rt = by_kind(api_version, kind)
    if rt is None:
        raise KeyError(kind)
    return rt


def write_status(store: Store, rt: ResourceType, obj: dict, status: dict) -> dict:
    """Write ``status`` through the status subresource if it differs; return the object."""
    if obj.get("status") == status:
        return obj
    new = dict(obj)
    new["status"] = status
    store.update(rt, new, subresource="status")
    return store.peek(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"]) or obj


def write_object(store: Store, rt: ResourceType, obj: dict) -> dict:
    """Write a changed object (spec/metadata) and return the stored result."""
    store.update(rt, obj)
    return store.peek(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"]) or obj


def set_condition(conditions: list[dict], new: dict, now_ts: str, *,
                  update_time: bool = True) -> list[dict]:
    """Upsert a condition keeping its timestamps unless status/reason/message changed."""
    result = []
    found = False
    for cond in conditions:
        if cond.get("type") != new["type"]:
            result.append(cond)
            continue
        found = True
        merged = dict(new)
        same_status = cond.get("status") == new["status"]
        same_text = same_status and cond.get("reason") == new.get("reason") \
            and cond.get("message") == new.get("message")
        if "lastTransitionTime" in cond or "lastTransitionTime" in new:
            merged["lastTransitionTime"] = cond.get("lastTransitionTime") if same_status \
                else now_ts
        if update_time:
            merged["lastUpdateTime"] = cond.get("lastUpdateTime", now_ts) if same_text \
                else now_ts
        for key, value in cond.items():
            if key not in merged:
                merged[key] = value
        result.append(merged)
    if not found:
        merged = dict(new)
        merged.setdefault("lastTransitionTime", now_ts)
        if update_time:
            merged.setdefault("lastUpdateTime", now_ts)
        result.append(merged)
    return result
