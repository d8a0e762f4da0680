"""StatefulSet and DaemonSet controllers: ControllerRevisions and per-slot pods.

Each distinct pod template gets a ControllerRevision ``<name>-<hash>`` (``revision`` = max+1;
a template matching an older revision reuses it with a new number) whose ``data`` is the
strategic-merge patch ``{"spec": {"template": {..., "$patch": "replace"}}}`` that
``kubectl rollout undo`` sends back. Pods live in fixed slots (``<sts>-<ordinal>``,
``<ds>-<node>``); a slot whose pod is missing or runs an old revision gets a new pod half a
rollout time later, ready another half later (never with a "broken" or "crash" image).
"""

from __future__ import annotations

from typing import NamedTuple

from .ctl_base import Manager, rt_of, write_object, write_status
from .ctl_replicaset import POD, owned_pods
from .defaults import template_hash, templates_equal
from .podutil import NODES, controller_of, is_ready, new_pod, owner_reference, rollout_seconds
from .store import clone

REVISION_RT = rt_of("ControllerRevision")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Slot(NamedTuple):
    name: str
    node: str
    index: int


def template_of(revision: dict) -> dict:
    """The pod template stored in a ControllerRevision."""
    template = ((revision.get("data") or {}).get("spec") or {}).get("template") or {}
    return {k: v for k, v in template.items() if k != "$patch"}


class _RevisionedController:
    kind = ""
    hash_label = ""

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        self.rt = rt_of(self.kind)
        self._pending: dict[tuple[str, str], float] = {}

    # hooks
    def _slots(self, owner: dict) -> list[Slot]:
        raise NotImplementedError

    def _revision_label(self, owner: dict, revision: dict, digest: str) -> str:
        raise NotImplementedError

    def _pod_labels(self, owner: dict, slot: Slot, label: str) -> dict[str, str]:
        raise NotImplementedError

    def _status(self, owner: dict, revision: dict, label: str, pods: list[dict]) -> dict:
        raise NotImplementedError

    # shared logic
    def _history(self, uid: str) -> list[dict]:
        return [o for o in self.m.store.children(uid) if o.get("kind") == "ControllerRevision"
                and (controller_of(o) or {}).get("uid") == uid]

    def _ensure_revision(self, owner: dict) -> tuple[dict, str]:
        store = self.m.store
        meta = owner["metadata"]
        template = (owner.get("spec") or {}).get("template") or {}
        history = self._history(meta["uid"])
        top = max((int(cr.get("revision", 0)) for cr in history), default=0)
        matching = [cr for cr in history if templates_equal(template_of(cr), template)]
        if matching:
            revision = max(matching, key=lambda cr: int(cr.get("revision", 0)))
            digest = (revision["metadata"].get("labels") or {}).get(self.hash_label) or \
                revision["metadata"]["name"].rsplit("-", 1)[-1]
            if int(revision.get("revision", 0)) < top:
                bumped = clone(revision)
                bumped["revision"] = top + 1
                revision = write_object(store, REVISION_RT, bumped)
            return revision, self._revision_label(owner, revision, digest)
        stored = clone(template)
        stored.setdefault("metadata", {})["creationTimestamp"] = None
        stored["$patch"] = "replace"
        digest = template_hash(template)
        name = f"{meta['name']}-{digest}"
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                       if k != LAST_APPLIED}
        revision = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": name,
                "namespace": meta.get("namespace"),
                "labels": {**((template.get("metadata") or {}).get("labels") or {}),
                           self.hash_label: digest},
                "ownerReferences": [owner_reference(owner)],
            },
            "data": {"spec": {"template": stored}},
            "revision": top + 1,
        }
        if annotations:
            revision["metadata"]["annotations"] = annotations
        existing = store.peek(REVISION_RT, meta.get("namespace"), name)
        if existing is not None:
            store.delete(REVISION_RT, meta.get("namespace"), name)
        store.create(REVISION_RT, revision)
        created = store.peek(REVISION_RT, meta.get("namespace"), name)
        return created, self._revision_label(owner, created, digest)

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        owner = store.peek(self.rt, namespace, name)
        if owner is None:
            return None
        uid = owner["metadata"]["uid"]
        spec = owner.get("spec") or {}
        rollout = rollout_seconds(owner, self.m.rollout_seconds)
        revision, label = self._ensure_revision(owner)
        owner = store.peek(self.rt, namespace, name) or owner
        slots = self._slots(owner)
        pods = {p["metadata"]["name"]: p for p in owned_pods(store, uid)}
        wanted = {slot.name for slot in slots}
        for pod_name in sorted(set(pods) - wanted):
            store.delete(POD, namespace, pod_name)
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        template = spec.get("template") or {}
        due = None
        for slot in slots:
            pod = pods.get(slot.name)
            key = (uid, slot.name)
            current = (pod or {}).get("metadata", {}).get("labels", {}).get(
                "controller-revision-hash")
            if pod is not None and (current == label or on_delete):
                self._pending.pop(key, None)
                continue
            since = self._pending.setdefault(key, now)
            if now < since + rollout / 2:
                due = since + rollout / 2 if due is None else min(due, since + rollout / 2)
                continue
            self._pending.pop(key, None)
            if pod is not None:
                store.delete(POD, namespace, slot.name)
            fresh = new_pod(owner, template, slot.name, node=slot.node,
                            labels=self._pod_labels(owner, slot, label))
            created = store.create(POD, fresh)
            self.m.pod_ready_at[created["metadata"]["uid"]] = since + rollout
        pods_now = owned_pods(store, uid)
        write_status(store, self.rt, owner, self._status(owner, revision, label, pods_now))
        self._prune(owner, revision)
        return due

    def _prune(self, owner: dict, keep: dict) -> None:
        limit = (owner.get("spec") or {}).get("revisionHistoryLimit", 10)
        status = self.m.store.peek(self.rt, owner["metadata"].get("namespace"),
                                   owner["metadata"]["name"]) or owner
        keep_names = {keep["metadata"]["name"],
                      (status.get("status") or {}).get("currentRevision", "")}
        history = sorted((cr for cr in self._history(owner["metadata"]["uid"])
                          if cr["metadata"]["name"] not in keep_names),
                         key=lambda cr: int(cr.get("revision", 0)))
        for cr in history[: max(len(history) - int(limit), 0)]:
            self.m.store.delete(REVISION_RT, cr["metadata"].get("namespace"),
                                cr["metadata"]["name"])


class StatefulSetController(_RevisionedController):
    """Pods ``<name>-0..N-1``; currentRevision catches up once every pod is updated and ready."""

    kind = "StatefulSet"
    hash_label = "controller.kubernetes.io/hash"

    def _slots(self, owner: dict) -> list[Slot]:
        replicas = int((owner.get("spec") or {}).get("replicas", 1) or 0)
        name = owner["metadata"]["name"]
        return [Slot(f"{name}-{i}", NODES[i % len(NODES)], i) for i in range(replicas)]

    def _revision_label(self, owner: dict, revision: dict, digest: str) -> str:
        return revision["metadata"]["name"]

    def _pod_labels(self, owner: dict, slot: Slot, label: str) -> dict[str, str]:
        return {"controller-revision-hash": label,
                "statefulset.kubernetes.io/pod-name": slot.name,
                "apps.kubernetes.io/pod-index": str(slot.index)}

    def _status(self, owner: dict, revision: dict, label: str, pods: list[dict]) -> dict:
        desired = int((owner.get("spec") or {}).get("replicas", 1) or 0)
        labels = [(p["metadata"].get("labels") or {}).get("controller-revision-hash")
                  for p in pods]
        ready = sum(1 for p in pods if is_ready(p))
        updated = labels.count(label)
        old = owner.get("status") or {}
        current_rev = old.get("currentRevision") or label
        if updated == desired and ready == desired:
            current_rev = label
        status: dict = {
            "observedGeneration": owner["metadata"].get("generation", 1),
            "replicas": len(pods),
            "availableReplicas": ready,
            "currentRevision": current_rev,
            "updateRevision": label,
            "collisionCount": 0,
        }
        for key, value in (("readyReplicas", ready), ("currentReplicas", labels.count(current_rev)),
                           ("updatedReplicas", updated)):
            if value:
                status[key] = value
        return status


class DaemonSetController(_RevisionedController):
    """One pod per simulated node (node-1..3)."""

    kind = "DaemonSet"
    hash_label = "controller-revision-hash"

    def _slots(self, owner: dict) -> list[Slot]:
        name = owner["metadata"]["name"]
        return [Slot(f"{name}-{node}", node, i) for i, node in enumerate(NODES)]

    def _revision_label(self, owner: dict, revision: dict, digest: str) -> str:
        return digest

    def _pod_labels(self, owner: dict, slot: Slot, label: str) -> dict[str, str]:
        return {"controller-revision-hash": label,
                "pod-template-generation": str(owner["metadata"].get("generation", 1))}

    def _status(self, owner: dict, revision: dict, label: str, pods: list[dict]) -> dict:
        desired = len(NODES)
        ready = sum(1 for p in pods if is_ready(p))
        updated = sum(1 for p in pods
                      if (p["metadata"].get("labels") or {}).get("controller-revision-hash")
                      == label)
        status: dict = {
            "observedGeneration": owner["metadata"].get("generation", 1),
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": len(pods),
            "numberMisscheduled": 0,
            "numberReady": ready,
        }
        for key, value in (("numberAvailable", ready), ("numberUnavailable", desired - ready),
                           ("updatedNumberScheduled", updated)):
            if value:
                status[key] = value
        return status
