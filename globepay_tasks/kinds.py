"""Every per-kind rule of the workloads the tool applies, in one place.

For each kind (Deployment, StatefulSet, DaemonSet, Job; CronJob and any other object as far
as they have rules): its kubectl resource, whether ``kubectl rollout undo`` can roll it back,
where its pod template and images are, and how far its rollout has got, judged from the
object as the API serves it (`Rollout`: ``kubectl rollout status``'s own line and verdict, a
short readiness text, the health gate's verdict). The wait, the health gate, the plan, the
verification and the rollback all ask this module. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

ROLLING_UPDATE = "RollingUpdate"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Rollout:
    """Where one workload's rollout stands: ``message`` is the line ``kubectl rollout status``
    prints, ``readiness`` a short form of it (``2/3 ready``); ``error`` set means it failed
    (kubectl's message, ``error: ...``)."""

    message: str
    done: bool = False
    error: str = ""
    readiness: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def failure(message: str) -> Rollout:
    """A failed rollout with kubectl's ``error: ...`` message."""
    return Rollout("", done=True, error=f"error: {message}")


def _int(mapping: dict, key: str, default: int = 0) -> int:
    value = mapping.get(key)
    return value if isinstance(value, int) else default


def _parts(obj: dict) -> tuple[str, int, dict, dict]:
    meta = obj.get("metadata") or {}
    return (meta.get("name", ""), _int(meta, "generation"), obj.get("spec") or {},
            obj.get("status") or {})


def _conditions(status: dict) -> dict[str, str]:
    return {c.get("type", ""): c.get("status", "") for c in status.get("conditions") or []}


def _unobserved(obj: dict) -> bool:
    """The controller has not yet seen the object's latest spec."""
    _, generation, _, status = _parts(obj)
    return _int(status, "observedGeneration") < generation


class WorkloadKind:
    """The rules of one workload kind; subclasses fill them in."""

    kind: ClassVar[str] = ""
    resource: ClassVar[str] = ""
    group: ClassVar[str] = "apps"
    #: ``kubectl rollout undo`` rolls it back to an earlier revision.
    rollable: ClassVar[bool] = True
    #: The tool waits for it after an apply.
    awaited: ClassVar[bool] = True
    #: A change to its pod template is made by deleting it and creating it again (a Job's
    #: template is immutable).
    replaced_on_change: ClassVar[bool] = False

    def pod_template(self, obj: dict) -> dict:
        """The object's pod template (``{}`` when it has none)."""
        return (obj.get("spec") or {}).get("template") or {}

    def containers(self, obj: dict) -> list[dict]:
        """The init containers and containers of the pod template, in that order."""
        spec = self.pod_template(obj).get("spec") or {}
        return [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]

    def images(self, obj: dict) -> dict[str, str]:
        """Container name -> image of the pod template's containers."""
        spec = self.pod_template(obj).get("spec") or {}
        return {c["name"]: c.get("image", "") for c in spec.get("containers") or ()}

    def revision(self, obj: dict) -> str:
        """The revision it runs: the Deployment controller's annotation, a StatefulSet's or
        DaemonSet's ``updateRevision``, else the object's generation."""
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        annotations = meta.get("annotations") or {}
        return (annotations.get(REVISION_ANNOTATION) or status.get("updateRevision")
                or str(meta.get("generation", "")))

    def undo_revision(self, revision: str) -> int | None:
        """The ``--to-revision`` that brings a workload back to ``revision`` (None: undo to
        the previous one)."""
        return None

    def rollout(self, obj: dict) -> Rollout:
        raise NotImplementedError

    def health(self, obj: dict) -> tuple[bool, str]:
        """The health gate's verdict and its text (``deployment/backend: 2/2 available``):
        the latest spec observed, and every wanted pod updated and available."""
        name = (obj.get("metadata") or {}).get("name", "")
        if _unobserved(obj):
            return False, f"{self.resource}/{name}: not yet observed"
        want, have, word = self.pods_healthy(obj.get("spec") or {}, obj.get("status") or {})
        return have >= want, f"{self.resource}/{name}: {have}/{want} {word}"

    def pods_healthy(self, spec: dict, status: dict) -> tuple[int, int, str]:
        """Pods wanted, pods updated and available, and the word for the latter."""
        have = min(status.get("availableReplicas", 0), status.get("updatedReplicas", 0))
        return spec.get("replicas", 1), have, "available"

    def ready(self, obj: dict) -> str:
        """Ready/desired pods, as ``kubectl get`` shows them (``1/2``)."""
        status = obj.get("status") or {}
        return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"

    def progress(self, obj: dict) -> str:
        """Where a rollout stands in one phrase: ``1/2 updated, 1 available``."""
        status = obj.get("status") or {}
        desired = (obj.get("spec") or {}).get("replicas", 1)
        available = status.get("availableReplicas", status.get("readyReplicas", 0))
        return f"{status.get('updatedReplicas', 0)}/{desired} updated, {available} available"

    def timed_out(self, name: str) -> Rollout:
        """kubectl's message when ``--timeout`` runs out."""
        return failure("timed out waiting for the condition")


class DeploymentKind(WorkloadKind):
    kind, resource = "Deployment", "deployment"

    def undo_revision(self, revision: str) -> int | None:
        return int(revision) if revision.isdigit() else None

    def rollout(self, obj: dict) -> Rollout:
        """kubectl's Deployment status viewer."""
        name, _, spec, status = _parts(obj)
        if _unobserved(obj):
            return Rollout("Waiting for deployment spec update to be observed...",
                           readiness="waiting for the controller")
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Progressing" \
                    and condition.get("reason") == "ProgressDeadlineExceeded":
                return failure(f'deployment "{name}" exceeded its progress deadline')
        updated = _int(status, "updatedReplicas")
        waiting = f'Waiting for deployment "{name}" rollout to finish: '
        if "replicas" in spec and updated < _int(spec, "replicas"):
            want = _int(spec, "replicas")
            return Rollout(f"{waiting}{updated} out of {want} new replicas have been updated...",
                           readiness=f"{updated}/{want} updated")
        replicas = _int(status, "replicas")
        if replicas > updated:
            old = replicas - updated
            return Rollout(f"{waiting}{old} old replicas are pending termination...",
                           readiness=f"{old} old replicas pending termination")
        available = _int(status, "availableReplicas")
        if available < updated:
            return Rollout(f"{waiting}{available} of {updated} updated replicas are available...",
                           readiness=f"{available}/{updated} ready")
        return Rollout(f'deployment "{name}" successfully rolled out', done=True,
                       readiness=f"{updated}/{updated} ready")


def _strategy(spec: dict) -> dict:
    return spec.get("updateStrategy") or {}


class DaemonSetKind(WorkloadKind):
    kind, resource = "DaemonSet", "daemonset"

    def rollout(self, obj: dict) -> Rollout:
        """kubectl's DaemonSet status viewer."""
        name, _, spec, status = _parts(obj)
        if _strategy(spec).get("type", ROLLING_UPDATE) != ROLLING_UPDATE:
            return failure(f"rollout status is only available for {ROLLING_UPDATE} strategy type")
        if _unobserved(obj):
            return Rollout("Waiting for daemon set spec update to be observed...",
                           readiness="waiting for the controller")
        desired = _int(status, "desiredNumberScheduled")
        updated = _int(status, "updatedNumberScheduled")
        waiting = f'Waiting for daemon set "{name}" rollout to finish: '
        if updated < desired:
            return Rollout(f"{waiting}{updated} out of {desired} new pods have been updated...",
                           readiness=f"{updated}/{desired} updated")
        available = _int(status, "numberAvailable")
        if available < desired:
            return Rollout(f"{waiting}{available} of {desired} updated pods are available...",
                           readiness=f"{available}/{desired} ready")
        return Rollout(f'daemon set "{name}" successfully rolled out', done=True,
                       readiness=f"{desired}/{desired} ready")

    def pods_healthy(self, spec: dict, status: dict) -> tuple[int, int, str]:
        have = min(status.get("numberAvailable", 0), status.get("updatedNumberScheduled", 0))
        return status.get("desiredNumberScheduled", 0), have, "available"

    def ready(self, obj: dict) -> str:
        status = obj.get("status") or {}
        return f"{status.get('numberReady', 0)}/{status.get('desiredNumberScheduled', 0)}"

    def progress(self, obj: dict) -> str:
        status = obj.get("status") or {}
        return (f"{status.get('updatedNumberScheduled', 0)}/"
                f"{status.get('desiredNumberScheduled', 0)} updated, "
                f"{status.get('numberAvailable', 0)} available")


class StatefulSetKind(WorkloadKind):
    kind, resource = "StatefulSet", "statefulset"

    def rollout(self, obj: dict) -> Rollout:
        """kubectl's StatefulSet status viewer."""
        _, generation, spec, status = _parts(obj)
        strategy = _strategy(spec)
        if strategy.get("type", ROLLING_UPDATE) != ROLLING_UPDATE:
            return failure(f"rollout status is only available for {ROLLING_UPDATE} strategy type")
        observed = _int(status, "observedGeneration")
        if observed == 0 or generation > observed:
            return Rollout("Waiting for statefulset spec update to be observed...",
                           readiness="waiting for the controller")
        has_replicas = "replicas" in spec
        replicas = _int(spec, "replicas")
        ready = _int(status, "readyReplicas")
        if has_replicas and ready < replicas:
            return Rollout(f"Waiting for {replicas - ready} pods to be ready...",
                           readiness=f"{ready}/{replicas} ready")
        updated = _int(status, "updatedReplicas")
        rolling = strategy.get("rollingUpdate")
        if rolling is not None:
            partition = rolling.get("partition")
            if has_replicas and isinstance(partition, int) and updated < replicas - partition:
                want = replicas - partition
                return Rollout(f"Waiting for partitioned roll out to finish: {updated} out of "
                               f"{want} new pods have been updated...",
                               readiness=f"{updated}/{want} updated")
            return Rollout(f"partitioned roll out complete: {updated} new pods have been "
                           "updated...", done=True, readiness=f"{updated} pods updated")
        update_revision = status.get("updateRevision", "")
        if update_revision != status.get("currentRevision", ""):
            return Rollout(f"waiting for statefulset rolling update to complete {updated} pods "
                           f"at revision {update_revision}...",
                           readiness=f"{updated} pods updated")
        current = _int(status, "currentReplicas")
        return Rollout(f"statefulset rolling update complete {current} pods at revision "
                       f"{status.get('currentRevision', '')}...", done=True,
                       readiness=f"{ready}/{replicas if has_replicas else ready} ready")

    def pods_healthy(self, spec: dict, status: dict) -> tuple[int, int, str]:
        have = min(status.get("readyReplicas", 0), status.get("updatedReplicas", 0))
        return spec.get("replicas", 1), have, "ready"


class JobKind(WorkloadKind):
    """A Job runs once: done when Complete, failed when Failed. It has no revisions to roll
    back to, and a real API server gives it no ``status.observedGeneration``."""

    kind, resource, group = "Job", "job", "batch"
    rollable = False
    replaced_on_change = True

    def _state(self, obj: dict) -> str:
        conditions = _conditions(obj.get("status") or {})
        return next((state.lower() for state in ("Complete", "Failed")
                     if conditions.get(state) == "True"), "running")

    def rollout(self, obj: dict) -> Rollout:
        """Complete or Failed, whichever condition is true first."""
        name, _, _, status = _parts(obj)
        for condition in status.get("conditions") or []:
            if condition.get("status") != "True":
                continue
            if condition.get("type") == "Complete":
                return Rollout("complete", done=True, readiness="complete")
            if condition.get("type") == "Failed":
                return Rollout("", done=True, error=f'job "{name}" failed')
        return Rollout(f'Waiting for job "{name}" to complete...', readiness="running")

    def health(self, obj: dict) -> tuple[bool, str]:
        """Healthy unless Failed, whatever ``observedGeneration`` says."""
        name, state = (obj.get("metadata") or {}).get("name", ""), self._state(obj)
        return state != "failed", f"job/{name}: {state}"

    def ready(self, obj: dict) -> str:
        status = obj.get("status") or {}
        return f"{status.get('succeeded', 0)}/{(obj.get('spec') or {}).get('completions', 1)}"

    def progress(self, obj: dict) -> str:
        return self._state(obj)

    def timed_out(self, name: str) -> Rollout:
        """``kubectl wait``'s form."""
        return failure(f"timed out waiting for the condition on jobs/{name}")


class CronJobKind(JobKind):
    """A CronJob has no pods until it fires: its pod template is in its job template."""

    kind, resource = "CronJob", "cronjob"
    awaited = False
    replaced_on_change = False

    def pod_template(self, obj: dict) -> dict:
        job = (obj.get("spec") or {}).get("jobTemplate") or {}
        return (job.get("spec") or {}).get("template") or {}

    def ready(self, obj: dict) -> str:
        """No ready count: it has no pods of its own until it fires."""
        return ""

    def progress(self, obj: dict) -> str:
        return f"schedule {self.schedule(obj)}"

    def schedule(self, obj: dict) -> str:
        return str((obj.get("spec") or {}).get("schedule", ""))


DEPLOYMENT, STATEFULSET, DAEMONSET, JOB = (
    DeploymentKind(), StatefulSetKind(), DaemonSetKind(), JobKind())
#: The workload kinds the tool renders, applies, waits for and verifies, in waiting order.
WORKLOADS: dict[str, WorkloadKind] = {k.kind: k for k in (DEPLOYMENT, STATEFULSET, DAEMONSET,
                                                          JOB)}
#: Kinds with a pod template the tool knows where to find (images, plan), awaited or not.
TEMPLATED: dict[str, WorkloadKind] = {**WORKLOADS, "CronJob": CronJobKind()}
WORKLOAD_KINDS = tuple(WORKLOADS)
#: Every kind with a pod template: the workloads, then those not waited on (CronJob).
TEMPLATED_KINDS = tuple(TEMPLATED)
ROLLOUT_KINDS = tuple(kind for kind, rules in WORKLOADS.items() if rules.rollable)


def of(kind: str) -> WorkloadKind:
    """The rules of a ``kind`` with a pod template (`KeyError` for one without)."""
    return TEMPLATED[kind]


def is_templated(obj: dict) -> bool:
    """The object has a pod template the tool knows (a workload, or a CronJob)."""
    return obj.get("kind") in TEMPLATED


def is_workload(obj: dict) -> bool:
    return obj.get("kind") in WORKLOADS


def images_of(obj: dict) -> dict[str, str]:
    """Container name -> image of an object's pod template (none for a kind without one)."""
    rules = TEMPLATED.get(obj.get("kind", ""))
    return rules.images(obj) if rules else {}


def containers_of(obj: dict) -> list[dict]:
    """The (init) containers of an object's pod template, to read or to set images in."""
    rules = TEMPLATED.get(obj.get("kind", ""))
    return rules.containers(obj) if rules else []


def rollout(obj: dict) -> Rollout:
    """The rollout verdict for one workload object."""
    return of(obj.get("kind", "")).rollout(obj)


def deleted() -> Rollout:
    """What ``kubectl rollout status`` says when the object goes away while it waits."""
    return failure("object has been deleted")
