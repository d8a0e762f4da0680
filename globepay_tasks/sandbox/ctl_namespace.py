"""Namespace controller: a Terminating namespace loses its contents, then itself.

Termination takes half a rollout time (simulated), but at least a quarter of a real second,
so that requests kubectl sends right after deleting a namespace (``delete -k``) still find the
objects, as on a real cluster.
"""

from __future__ import annotations

from .ctl_base import Manager, rt_of

NAMESPACE = rt_of("Namespace", "v1")
MIN_REAL_SECONDS = 0.25


class NamespaceController:
    """Finalizes Terminating namespaces."""

    kind = "Namespace"

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        self._since: dict[str, float] = {}

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        obj = self.m.store.peek(NAMESPACE, None, name)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return None
        uid = obj["metadata"]["uid"]
        started = self._since.setdefault(uid, now)
        delay = max(self.m.rollout_seconds / 2, MIN_REAL_SECONDS * self.m.clock.time_scale)
        if now < started + delay:
            return started + delay
        self._since.pop(uid, None)
        self.m.store.finalize_namespace(name)
        return None
