"""Why a workload did not roll out, in the API's words: its pods' container waiting reasons
(``ImagePullBackOff``, ``CrashLoopBackOff``) and a failed Job's Failed condition, from one read
of the namespace's pods and Jobs, made on the failure path only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import images, kubectl
from .errors import PromotionError
from .kubectl import Target, WorkloadRef

if TYPE_CHECKING:
    from .runner import Runner

#: Waiting reasons every starting container goes through: they explain nothing.
_STARTING = ("ContainerCreating", "PodInitializing")


def why(runner: Runner, target: Target, ref: WorkloadRef) -> tuple[str, dict[str, str]]:
    """``; pod NAME: REASON: MESSAGE`` for what the API reports about ``ref``'s pods (and
    a Job's Failed condition), and the digest each image of its pods reports (image ->
    ``sha256:...``), read in one ``kubectl get pods,jobs`` call; "" and none when it says
    nothing more, or the read fails (the rollout's failure is what matters)."""
    try:
        result = runner.at(target).run(kubectl.get_resources(target, ("pods", "jobs")),
                                       idempotent=True)
    except PromotionError:
        return "", {}
    if not result.ok or runner.dry_run:
        return "", {}
    try:
        objects = kubectl.parse_list(result.stdout)
    except ValueError:
        return "", {}
    return "".join(f"; {line}" for line in reasons(objects, ref)), digests(objects, ref)


def digests(objects: Sequence[dict], ref: WorkloadRef) -> dict[str, str]:
    """Image -> the digest ``ref``'s pods report for it (their containers' ``imageID``)."""
    found = {}
    for pod in (o for o in objects if o.get("kind") == "Pod" and owned_by(o, ref)):
        specs = {c.get("name"): c.get("image", "")
                 for c in (pod.get("spec") or {}).get("containers") or ()}
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            digest = images.digest_of_image_id(status.get("imageID") or "")
            if digest and specs.get(status.get("name")):
                found[specs[status["name"]]] = digest
    return found


def reasons(objects: Sequence[dict], ref: WorkloadRef) -> list[str]:
    """A failed Job's Failed condition (``job/NAME: BackoffLimitExceeded: ...``), then each
    distinct reason ``ref``'s pods report for a container, once, naming the first pod that
    reports it (a kubelet's CrashLoopBackOff message names its own pod: one line, not one a
    pod)."""
    found: list[str] = []
    for obj in objects:
        if obj.get("kind") == "Job" == ref.kind and _name(obj) == ref.name:
            for condition in (obj.get("status") or {}).get("conditions") or ():
                if condition.get("type") == "Failed" and condition.get("status") == "True":
                    found.append(f"job/{ref.name}: {_said(condition)}")
    seen: set[tuple[str, str]] = set()
    for pod in (o for o in objects if o.get("kind") == "Pod" and owned_by(o, ref)):
        for container, reason, said in pod_reasons(pod):
            if (container, reason) not in seen:
                seen.add((container, reason))
                found.append(f"pod {_name(pod)}: {said}")
    return found


def pod_reasons(pod: dict) -> list[tuple[str, str, str]]:
    """(container, reason, ``REASON: MESSAGE``) of each container of ``pod`` that waits for
    something other than its start (or last ended in an error while it waits to restart)."""
    status = pod.get("status") or {}
    found = []
    for container in (*(status.get("initContainerStatuses") or ()),
                      *(status.get("containerStatuses") or ())):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in _STARTING:
            found.append((container.get("name", ""), waiting["reason"], _said(waiting)))
    return found


def owned_by(pod: dict, ref: WorkloadRef) -> bool:
    """Whether ``pod`` belongs to ``ref`` (a Deployment's through its ReplicaSets,
    ``NAME-HASH``)."""
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or ():
        kind, name = owner.get("kind"), str(owner.get("name", ""))
        if kind == ref.kind and name == ref.name:
            return True
        if ref.kind == "Deployment" and kind == "ReplicaSet" and name.startswith(
                f"{ref.name}-") and "-" not in name[len(ref.name) + 1:]:
            return True
    return False


def _name(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _said(reported: dict) -> str:
    reason, message = reported.get("reason") or "", reported.get("message") or ""
    return f"{reason}: {message}" if reason and message else reason or message
