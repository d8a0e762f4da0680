"""Job controller: run ``parallelism`` pods for one rollout time, then Complete (or Failed
with BackoffLimitExceeded when an image is "broken": its pods never start).

A Job whose image is "crash" (see podutil) fails the way a failing command does:

- ``restartPolicy: Never``: each pod runs for :data:`CRASH_RUN_SECONDS` and fails (exit code
  1); the Job replaces it after the Job controller's pod failure back-off (10 s, doubling, at
  most 10 min) until more than ``backoffLimit`` pods have failed, then fails with
  BackoffLimitExceeded and deletes the pods still active.
- ``restartPolicy: OnFailure``: the pods' containers crash-loop in place (the Pod controller);
  once their restarts reach ``backoffLimit`` (any restart when it is 0) the Job fails with
  BackoffLimitExceeded and deletes them.
"""

from __future__ import annotations

from .clock import rfc3339
from .ctl_base import Manager, rt_of, write_status
from .ctl_replicaset import FINISHED, POD
from .podutil import (
    controller_of,
    finished_status,
    is_broken,
    is_crashing,
    is_ready,
    new_pod,
    random_suffix,
    restart_policy,
    rollout_seconds,
    running_status,
)

JOB = rt_of("Job", "batch/v1")
_DONE = ("Complete", "Failed")
#: Simulated seconds a "crash" Job pod runs before its command exits with code 1.
CRASH_RUN_SECONDS = 1.0
#: The Job controller's back-off before replacing a failed pod: 10 s, doubling, at most 10 min.
POD_FAILURE_BACKOFF_SECONDS = 10.0
POD_FAILURE_BACKOFF_MAX_SECONDS = 600.0
_BACKOFF_MESSAGE = "Job has reached the specified backoff limit"


def _finished(job: dict) -> bool:
    return any(c.get("type") in _DONE and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or ())


def _condition(kind: str, reason: str, message: str, ts: str) -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": ts, "lastTransitionTime": ts}


def pod_failure_backoff(failures: int) -> float:
    """How long the Job controller waits after the last failure before a new pod, after
    ``failures`` failed pods (none: 0)."""
    if failures <= 0:
        return 0.0
    return min(POD_FAILURE_BACKOFF_SECONDS * 2 ** min(failures - 1, 16),
               POD_FAILURE_BACKOFF_MAX_SECONDS)


def _restarts(pod: dict) -> int:
    status = pod.get("status") or {}
    return sum(int(c.get("restartCount", 0) or 0)
               for c in (*(status.get("initContainerStatuses") or ()),
                         *(status.get("containerStatuses") or ())))


class JobController:
    """Reconciles Jobs (see the module docstring)."""

    kind = "Job"

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        self._started: dict[str, float] = {}
        #: pod uid -> simulated time a "crash" Job pod started running
        self._running_since: dict[str, float] = {}
        #: job uid -> simulated time its last pod failed
        self._last_failure: dict[str, float] = {}

    def _pods(self, uid: str) -> list[dict]:
        return [p for p in self.m.store.children(uid)
                if p.get("kind") == "Pod" and (controller_of(p) or {}).get("uid") == uid]

    def _active(self, uid: str) -> list[dict]:
        return [p for p in self._pods(uid)
                if (p.get("status") or {}).get("phase") not in FINISHED]

    def _create_pods(self, job: dict, count: int, *, running: bool) -> list[dict]:
        name = job["metadata"]["name"]
        template = (job.get("spec") or {}).get("template") or {}
        created = []
        for _ in range(count):
            pod = new_pod(job, template, f"{name}-{random_suffix()}")
            pod["metadata"]["generateName"] = f"{name}-"
            if running:
                pod["status"] = running_status(pod)
            created.append(self.m.store.create(POD, pod))
        return created

    @staticmethod
    def _width(spec: dict) -> int:
        completions = int(spec.get("completions", 1) or 1)
        return max(min(int(spec.get("parallelism", 1) or 1), completions), 1)

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        job = store.peek(JOB, namespace, name)
        if job is None or _finished(job):
            return None
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            return None
        template = spec.get("template") or {}
        if is_crashing(template.get("spec")):
            if restart_policy(template.get("spec")) == "OnFailure":
                return self._crash_in_place(job, now)
            return self._crash_and_replace(job, now)
        uid = job["metadata"]["uid"]
        start = self._started.setdefault(uid, now)
        end = start + rollout_seconds(job, self.m.rollout_seconds)
        broken = is_broken(template.get("spec"))
        completions = int(spec.get("completions", 1) or 1)
        pods = self._pods(uid)
        if not pods:
            self._create_pods(job, self._width(spec), running=not broken)
            pods = self._pods(uid)
        status = self._base_status(job)
        ts = rfc3339()
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
            status["conditions"] = self._failed_conditions(ts)
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

    @staticmethod
    def _base_status(job: dict) -> dict:
        status = dict(job.get("status") or {})
        status.setdefault("startTime", rfc3339())
        status.setdefault("uncountedTerminatedPods", {})
        return status

    @staticmethod
    def _failed_conditions(ts: str) -> list[dict]:
        return [_condition("FailureTarget", "BackoffLimitExceeded", _BACKOFF_MESSAGE, ts),
                _condition("Failed", "BackoffLimitExceeded", _BACKOFF_MESSAGE, ts)]

    def _fail(self, job: dict, status: dict, active: list[dict]) -> None:
        """BackoffLimitExceeded: the active pods are deleted (and counted as failed)."""
        store = self.m.store
        meta = job["metadata"]
        for pod in active:
            self._running_since.pop(pod["metadata"]["uid"], None)
            store.delete(POD, meta.get("namespace"), pod["metadata"]["name"])
        status["failed"] = int(status.get("failed", 0)) + len(active)
        status.pop("active", None)
        status["ready"] = 0
        status["terminating"] = 0
        status["conditions"] = self._failed_conditions(rfc3339())
        self._last_failure.pop(meta["uid"], None)
        write_status(store, JOB, store.peek(JOB, meta.get("namespace"), meta["name"]) or job,
                     status)

    def _crash_and_replace(self, job: dict, now: float) -> float | None:
        """restartPolicy Never: pods fail one by one, replaced after the back-off."""
        store = self.m.store
        uid = job["metadata"]["uid"]
        spec = job.get("spec") or {}
        limit = int(spec.get("backoffLimit", 6))
        status = self._base_status(job)
        failed = int(status.get("failed", 0))
        due: float | None = None
        for pod in self._active(uid):
            pod_uid = pod["metadata"]["uid"]
            exits = self._running_since.setdefault(pod_uid, now) + CRASH_RUN_SECONDS
            if now < exits:
                due = exits if due is None else min(due, exits)
                continue
            self._running_since.pop(pod_uid, None)
            write_status(store, POD, pod, finished_status(pod, succeeded=False))
            failed += 1
            self._last_failure[uid] = exits
        if failed:
            status["failed"] = failed
        active = self._active(uid)
        if failed > limit:
            self._fail(job, status, active)
            return None
        missing = self._width(spec) - len(active)
        if missing > 0:
            next_at = self._last_failure.get(uid, now) + pod_failure_backoff(failed)
            if now >= next_at:
                for pod in self._create_pods(job, missing, running=True):
                    self._running_since[pod["metadata"]["uid"]] = now
                due = now + CRASH_RUN_SECONDS if due is None else min(due,
                                                                      now + CRASH_RUN_SECONDS)
                active = self._active(uid)
            else:
                due = next_at if due is None else min(due, next_at)
        if active:
            status["active"] = len(active)
        else:
            status.pop("active", None)
        status["ready"] = sum(1 for p in active if is_ready(p))
        write_status(store, JOB, job, status)
        return due

    def _crash_in_place(self, job: dict, now: float) -> float | None:
        """restartPolicy OnFailure: the pods crash-loop; their restarts count against
        ``backoffLimit``."""
        store = self.m.store
        uid = job["metadata"]["uid"]
        spec = job.get("spec") or {}
        limit = int(spec.get("backoffLimit", 6))
        status = self._base_status(job)
        active = self._active(uid)
        restarts = sum(_restarts(p) for p in active)
        if (restarts > 0) if limit == 0 else (restarts >= limit):
            self._fail(job, status, active)
            return None
        if not active:
            width = self._width(spec)
            for pod in self._create_pods(job, width, running=False):
                self.m.pod_ready_at[pod["metadata"]["uid"]] = now  # its containers start now
            active = self._active(uid)
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if is_ready(p))
        write_status(store, JOB, job, status)
        return None
