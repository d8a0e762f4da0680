"""ReplicaSet and Pod controllers.

A ReplicaSet short of pods creates them half a rollout time after it noticed; they become
ready another half later (never, if an image is "broken"). Surplus pods go at once.
Bare pods (no controller) become ready half a rollout time after they appear.
"""

from __future__ import annotations

from .ctl_base import Manager, rt_of, write_status
from .podutil import (
    controller_of,
    is_broken,
    is_ready,
    new_pod,
    pending_status,
    random_suffix,
    rollout_seconds,
    running_status,
)

REPLICASET = rt_of("ReplicaSet")
POD = rt_of("Pod", "v1")
FINISHED = ("Succeeded", "Failed")


def owned_pods(store, uid: str) -> list[dict]:  # noqa: ANN001
    """Live (not finished) pods controlled by ``uid``."""
    return [p for p in store.children(uid)
            if p.get("kind") == "Pod" and (controller_of(p) or {}).get("uid") == uid
            and (p.get("status") or {}).get("phase") not in FINISHED]


class ReplicaSetController:
    """Keeps ``spec.replicas`` pods and reports their counts."""

    kind = "ReplicaSet"

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        self._short_since: dict[str, float] = {}

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        rs = store.peek(REPLICASET, namespace, name)
        if rs is None:
            return None
        uid = rs["metadata"]["uid"]
        spec = rs.get("spec") or {}
        desired = int(spec.get("replicas", 1) or 0)
        pods = owned_pods(store, uid)
        due = None
        if len(pods) > desired:
            self._short_since.pop(uid, None)
            doomed = sorted(pods, key=lambda p: (is_ready(p),
                                                 p["metadata"].get("creationTimestamp", "")),)
            for pod in doomed[: len(pods) - desired]:
                store.delete(POD, namespace, pod["metadata"]["name"])
        elif len(pods) < desired:
            rollout = rollout_seconds(rs, self.m.rollout_seconds)
            since = self._short_since.setdefault(uid, now)
            if now >= since + rollout / 2:
                self._short_since.pop(uid, None)
                for _ in range(desired - len(pods)):
                    self._create_pod(rs, since + rollout)
            else:
                due = since + rollout / 2
        else:
            self._short_since.pop(uid, None)
        pods = owned_pods(store, uid)
        ready = sum(1 for p in pods if is_ready(p))
        status = {"replicas": len(pods), "observedGeneration": rs["metadata"].get("generation", 1)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        write_status(store, REPLICASET, rs, status)
        return due

    def _create_pod(self, rs: dict, ready_at: float) -> None:
        store = self.m.store
        template = (rs.get("spec") or {}).get("template") or {}
        namespace = rs["metadata"].get("namespace")
        for _ in range(10):
            name = f"{rs['metadata']['name']}-{random_suffix()}"
            if store.peek(POD, namespace, name) is None:
                break
        pod = new_pod(rs, template, name)
        pod["metadata"]["generateName"] = rs["metadata"]["name"] + "-"
        created = store.create(POD, pod)
        self.m.pod_ready_at[created["metadata"]["uid"]] = ready_at


class PodController:
    """Marks pods Running/Ready when their time has come (Job pods are the Job's business)."""

    kind = "Pod"

    def __init__(self, manager: Manager) -> None:
        self.m = manager

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        pod = store.peek(POD, namespace, name)
        if pod is None:
            return None
        uid = pod["metadata"]["uid"]
        status = pod.get("status") or {}
        if (controller_of(pod) or {}).get("kind") == "Job" or status.get("phase") in FINISHED:
            self.m.pod_ready_at.pop(uid, None)
            return None
        if "phase" not in status:
            pod = write_status(store, POD, pod, pending_status(pod))
        if is_ready(pod) or is_broken(pod.get("spec")):
            self.m.pod_ready_at.pop(uid, None)
            return None
        ready_at = self.m.pod_ready_at.get(uid)
        if ready_at is None:
            ready_at = now + rollout_seconds(pod, self.m.rollout_seconds) / 2
            self.m.pod_ready_at[uid] = ready_at
        if now < ready_at:
            return ready_at
        self.m.pod_ready_at.pop(uid, None)
        write_status(store, POD, pod, running_status(pod))
        return None
