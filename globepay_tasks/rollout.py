"""Rollout status by ``kubectl rollout status``'s own rules, judged from a workload object.

`status` gives, for one Deployment, StatefulSet, DaemonSet or Job as the API serves it, the
line kubectl would print, whether the rollout is done, and kubectl's error when it failed.
Pure functions: the watching happens in `globepay_tasks.watch`.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLLING_UPDATE = "RollingUpdate"


@dataclass(frozen=True)
class Status:
    """One verdict: ``error`` set means the rollout failed (kubectl's message, ``error: ...``)."""

    message: str
    done: bool = False
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _failure(message: str) -> Status:
    return Status("", done=True, error=f"error: {message}")


def _int(mapping: dict, key: str, default: int = 0) -> int:
    value = mapping.get(key)
    return value if isinstance(value, int) else default


def _parts(obj: dict) -> tuple[str, int, dict, dict]:
    meta = obj.get("metadata") or {}
    return (meta.get("name", ""), _int(meta, "generation"), obj.get("spec") or {},
            obj.get("status") or {})


def deployment_status(obj: dict) -> Status:
    """kubectl's Deployment status viewer."""
    name, generation, spec, status = _parts(obj)
    if generation > _int(status, "observedGeneration"):
        return Status("Waiting for deployment spec update to be observed...")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" \
                and condition.get("reason") == "ProgressDeadlineExceeded":
            return _failure(f'deployment "{name}" exceeded its progress deadline')
    updated = _int(status, "updatedReplicas")
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if "replicas" in spec and updated < _int(spec, "replicas"):
        return Status(f"{waiting}{updated} out of {_int(spec, 'replicas')} new replicas have "
                      "been updated...")
    replicas = _int(status, "replicas")
    if replicas > updated:
        return Status(f"{waiting}{replicas - updated} old replicas are pending termination...")
    available = _int(status, "availableReplicas")
    if available < updated:
        return Status(f"{waiting}{available} of {updated} updated replicas are available...")
    return Status(f'deployment "{name}" successfully rolled out', done=True)


def _strategy(spec: dict) -> dict:
    return spec.get("updateStrategy") or {}


def daemonset_status(obj: dict) -> Status:
    """kubectl's DaemonSet status viewer."""
    name, generation, spec, status = _parts(obj)
    if _strategy(spec).get("type", ROLLING_UPDATE) != ROLLING_UPDATE:
        return _failure(f"rollout status is only available for {ROLLING_UPDATE} strategy type")
    if generation > _int(status, "observedGeneration"):
        return Status("Waiting for daemon set spec update to be observed...")
    desired = _int(status, "desiredNumberScheduled")
    updated = _int(status, "updatedNumberScheduled")
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return Status(f"{waiting}{updated} out of {desired} new pods have been updated...")
    available = _int(status, "numberAvailable")
    if available < desired:
        return Status(f"{waiting}{available} of {desired} updated pods are available...")
    return Status(f'daemon set "{name}" successfully rolled out', done=True)


def statefulset_status(obj: dict) -> Status:
    """kubectl's StatefulSet status viewer."""
    _, generation, spec, status = _parts(obj)
    strategy = _strategy(spec)
    if strategy.get("type", ROLLING_UPDATE) != ROLLING_UPDATE:
        return _failure(f"rollout status is only available for {ROLLING_UPDATE} strategy type")
    observed = _int(status, "observedGeneration")
    if observed == 0 or generation > observed:
        return Status("Waiting for statefulset spec update to be observed...")
    has_replicas = "replicas" in spec
    replicas = _int(spec, "replicas")
    ready = _int(status, "readyReplicas")
    if has_replicas and ready < replicas:
        return Status(f"Waiting for {replicas - ready} pods to be ready...")
    updated = _int(status, "updatedReplicas")
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if has_replicas and isinstance(partition, int) and updated < replicas - partition:
            return Status(f"Waiting for partitioned roll out to finish: {updated} out of "
                          f"{replicas - partition} new pods have been updated...")
        return Status(f"partitioned roll out complete: {updated} new pods have been updated...",
                      done=True)
    update_revision = status.get("updateRevision", "")
    if update_revision != status.get("currentRevision", ""):
        return Status(f"waiting for statefulset rolling update to complete {updated} pods at "
                      f"revision {update_revision}...")
    return Status(f"statefulset rolling update complete {_int(status, 'currentReplicas')} pods "
                  f"at revision {status.get('currentRevision', '')}...", done=True)


def job_status(obj: dict) -> Status:
    """A Job is done when Complete, failed when Failed (whichever condition is true first)."""
    name, _, _, status = _parts(obj)
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return Status("complete", done=True)
        if condition.get("type") == "Failed":
            return Status("", done=True, error=f'job "{name}" failed')
    return Status(f'Waiting for job "{name}" to complete...')


VIEWERS = {
    "Deployment": deployment_status,
    "StatefulSet": statefulset_status,
    "DaemonSet": daemonset_status,
    "Job": job_status,
}


def status(obj: dict) -> Status:
    """The verdict for one workload object of a kind in `VIEWERS`."""
    return VIEWERS[obj.get("kind", "")](obj)


def deleted() -> Status:
    """What ``kubectl rollout status`` says when the object goes away while it waits."""
    return _failure("object has been deleted")


def timed_out(kind: str, name: str) -> Status:
    """kubectl's message when ``--timeout`` runs out (``kubectl wait``'s form for Jobs)."""
    if kind == "Job":
        return _failure(f"timed out waiting for the condition on jobs/{name}")
    return _failure("timed out waiting for the condition")
