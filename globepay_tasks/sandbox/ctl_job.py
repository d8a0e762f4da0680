"""Job controller: run ``parallelism`` pods for one rollout time, then Complete (or Failed
with BackoffLimitExceeded when an image is "broken")."""

from __future__ import annotations

from .clock import rfc3339
from .ctl_base import Manager, rt_of, write_status
from .ctl_replicaset import POD
from .podutil import (
    controller_of,
    finished_status,
    is_broken,
    is_ready,
    new_pod,
    random_suffix,
    rollout_seconds,
    running_status,
)

JOB = rt_of("Job", "batch/v1")
_DONE = ("Complete", "Failed")


def _finished(job: dict) -> bool:
    return any(c.get("type") in _DONE and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or ())


def _condition(kind: str, reason: str, message: str, ts: str) -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": ts, "lastTransitionTime": ts}


class JobController:
    """Reconciles Jobs (see the module docstring)."""

    kind = "Job"

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        self._started: dict[str, float] = {}

    def _pods(self, uid: str) -> list[dict]:
        return [p for p in self.m.store.children(uid)
                if p.get("kind") == "Pod" and (controller_of(p) or {}).get("uid") == uid]

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        job = store.peek(JOB, namespace, name)
        if job is None or _finished(job):
            return None
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            return None
        uid = job["metadata"]["uid"]
        start = self._started.setdefault(uid, now)
        end = start + rollout_seconds(job, self.m.rollout_seconds)
        template = spec.get("template") or {}
        broken = is_broken(template.get("spec"))
        completions = int(spec.get("completions", 1) or 1)
        pods = self._pods(uid)
        if not pods:
            for _ in range(max(min(int(spec.get("parallelism", 1) or 1), completions), 1)):
                pod = new_pod(job, template, f"{name}-{random_suffix()}")
                pod["metadata"]["generateName"] = f"{name}-"
                if not broken:
                    pod["status"] = running_status(pod)
                store.create(POD, pod)
            pods = self._pods(uid)
        status = dict(job.get("status") or {})
        ts = rfc3339()
        status.setdefault("startTime", ts)
        status.setdefault("uncountedTerminatedPods", {})
        if now < end:
            status["active"] = len(pods)
            status["ready"] = sum(1 for p in pods if is_ready(p))
            write_status(store, JOB, job, status)
            return end
        for pod in pods:
            write_status(store, POD, pod, finished_status(pod, succeeded=not broken))
        status.pop("active", None)
        status["ready"] = 0
        status["terminating"] = 0
        if broken:
            limit = int(spec.get("backoffLimit", 6))
            status["failed"] = limit + 1
            message = "Job has reached the specified backoff limit"
            status["conditions"] = [
                _condition("FailureTarget", "BackoffLimitExceeded", message, ts),
                _condition("Failed", "BackoffLimitExceeded", message, ts)]
        else:
            status["succeeded"] = completions
            status["completionTime"] = ts
            message = "Reached expected number of succeeded pods"
            status["conditions"] = [
                _condition("SuccessCriteriaMet", "CompletionsReached", message, ts),
                _condition("Complete", "CompletionsReached", message, ts)]
        self._started.pop(uid, None)
        write_status(store, JOB, store.peek(JOB, namespace, name) or job, status)
        return None
