"""ReplicaSet and Pod controllers.

A ReplicaSet short of pods creates them half a rollout time after it noticed; they become
ready another half later (never, if an image is "broken" or "crash"). Surplus pods go at once.
Bare pods (no controller) become ready half a rollout time after they appear.

The Pod controller plays the kubelet for what podutil's image conventions say: a pod with a
"broken" image reports ErrImagePull, then ImagePullBackOff (any pod, a Job's too); one with a
"crash" image starts when it would have become ready and then crash-loops, its restartCount
following the simulated clock (a Job's pod only with restartPolicy OnFailure; a bare pod with
restartPolicy Never fails).
"""

from __future__ import annotations

from .ctl_base import Manager, rt_of, write_status
from .podutil import (
    PULL_ERROR_SECONDS,
    controller_of,
    crash_loop,
    crashloop_status,
    finished_status,
    is_broken,
    is_crashing,
    is_ready,
    new_pod,
    pending_status,
    random_suffix,
    restart_policy,
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
    """Marks pods Running/Ready when their time has come, and reports what their images do
    (see the module docstring; Job pods are otherwise the Job's business)."""

    kind = "Pod"

    def __init__(self, manager: Manager) -> None:
        self.m = manager

    def _forget(self, uid: str) -> None:
        self.m.pod_ready_at.pop(uid, None)
        self.m.pod_pull_failed_at.pop(uid, None)

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        pod = store.peek(POD, namespace, name)
        if pod is None:
            return None
        uid = pod["metadata"]["uid"]
        status = pod.get("status") or {}
        if status.get("phase") in FINISHED:
            self._forget(uid)
            return None
        if "phase" not in status:
            pod = write_status(store, POD, pod, pending_status(pod))
        spec = pod.get("spec") or {}
        if is_broken(spec):
            return self._pull_failed(pod, now)
        job_pod = (controller_of(pod) or {}).get("kind") == "Job"
        if job_pod and not (is_crashing(spec) and restart_policy(spec) == "OnFailure"):
            self._forget(uid)
            return None
        if is_ready(pod):
            self._forget(uid)
            return None
        ready_at = self.m.pod_ready_at.get(uid)
        if ready_at is None:
            ready_at = now + rollout_seconds(pod, self.m.rollout_seconds) / 2
            self.m.pod_ready_at[uid] = ready_at
        if now < ready_at:
            return ready_at
        if is_crashing(spec):
            if restart_policy(spec) == "Never":
                self._forget(uid)
                write_status(store, POD, pod, finished_status(pod, succeeded=False))
                return None
            write_status(store, POD, pod, crashloop_status(pod, now - ready_at))
            return ready_at + crash_loop(now - ready_at)[3]
        self._forget(uid)
        write_status(store, POD, pod, running_status(pod))
        return None

    def _pull_failed(self, pod: dict, now: float) -> float | None:
        """ErrImagePull from the pod's first reconcile, ImagePullBackOff a while later."""
        uid = pod["metadata"]["uid"]
        self.m.pod_ready_at.pop(uid, None)
        failed_at = self.m.pod_pull_failed_at.setdefault(uid, now)
        if now < failed_at + PULL_ERROR_SECONDS:
            return failed_at + PULL_ERROR_SECONDS
        write_status(self.m.store, POD, pod, pending_status(pod, pull_failed_for=now - failed_at))
        return None
