"""Simulated pods: building them from templates, their status, and what they run."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .clock import rfc3339
from .resources import by_kind
from .store import Store, clone

ROLLOUT_ANNOTATION = "sandbox.globepay.dev/rollout-seconds"
NODES = ("node-1", "node-2", "node-3")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RNG = random.Random()
REPLICASET = by_kind("apps/v1", "ReplicaSet")
CONTROLLER_REVISION = by_kind("apps/v1", "ControllerRevision")


def random_suffix(length: int = 5) -> str:
    """Random name suffix in the alphabet Kubernetes uses for generated names."""
    return "".join(_RNG.choice(_SUFFIX_ALPHABET) for _ in range(length))


def _containers(pod_spec: dict | None) -> list[dict]:
    spec = pod_spec or {}
    return [c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
            if isinstance(c, dict)]


def is_broken(pod_spec: dict | None) -> bool:
    """A pod spec whose images can never start: any image reference containing ``broken``."""
    return any("broken" in str(c.get("image", "")) for c in _containers(pod_spec))


def rollout_seconds(obj: dict, default: float) -> float:
    """Simulated rollout time of a workload/pod: annotation on the object or its template."""
    sources = [(obj.get("metadata") or {}).get("annotations") or {},
               (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {})
               .get("annotations") or {}]
    for found in sources:
        value = found.get(ROLLOUT_ANNOTATION)
        if value is not None:
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                continue
    return default


def image_id(image: str) -> str:
    """Deterministic ``docker-pullable://<repo>@sha256:<digest>`` for an image reference."""
    if "@sha256:" in image:
        repo, _, digest = image.partition("@sha256:")
        return f"docker-pullable://{repo}@sha256:{digest}"
    repo = image
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo = image[: len(image) - len(last)] + last.split(":", 1)[0]
    return f"docker-pullable://{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def owner_reference(owner: dict) -> dict:
    """A controller ownerReference pointing at ``owner``."""
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: dict) -> dict | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def new_pod(owner: dict, template: dict, name: str, *, labels: dict[str, str] | None = None,
            node: str | None = None) -> dict:
    """A Pending pod built from a pod template, owned by ``owner``."""
    tmeta = template.get("metadata") or {}
    spec = clone(template.get("spec") or {})
    spec["nodeName"] = node or _RNG.choice(NODES)
    spec.setdefault("serviceAccountName", "default")
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": owner["metadata"].get("namespace", "default"),
        "labels": {**(tmeta.get("labels") or {}), **(labels or {})},
        "ownerReferences": [owner_reference(owner)],
    }
    if tmeta.get("annotations"):
        metadata["annotations"] = clone(tmeta["annotations"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    pod["status"] = pending_status(pod)
    return pod


def _waiting(pod: dict) -> tuple[str, str | None]:
    if is_broken(pod.get("spec")):
        image = next((c.get("image") for c in _containers(pod.get("spec"))
                      if "broken" in str(c.get("image", ""))), "")
        return "ImagePullBackOff", f'Back-off pulling image "{image}"'
    return "ContainerCreating", None


def pending_status(pod: dict) -> dict:
    """Status of a pod whose containers have not started (yet, or ever when broken)."""
    now = rfc3339()
    node = (pod.get("spec") or {}).get("nodeName")
    reason, message = _waiting(pod)
    waiting: dict[str, Any] = {"reason": reason}
    if message:
        waiting["message"] = message
    statuses = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False,
                 "restartCount": 0, "started": False, "state": {"waiting": dict(waiting)}}
                for c in (pod.get("spec") or {}).get("containers") or []]
    return {
        "phase": "Pending",
        "conditions": [
            _condition("PodScheduled", "True", now),
            _condition("Initialized", "True", now),
            _condition("ContainersReady", "False", now, "ContainersNotReady",
                       "containers with unready status"),
            _condition("Ready", "False", now, "ContainersNotReady",
                       "containers with unready status"),
        ],
        "containerStatuses": statuses,
        "hostIP": f"192.168.0.{NODES.index(node) + 10 if node in NODES else 10}",
        "podIP": f"10.244.{_RNG.randint(0, 255)}.{_RNG.randint(2, 254)}",
        "qosClass": "BestEffort",
        "startTime": now,
    }


def running_status(pod: dict, *, ready: bool = True) -> dict:
    """Status of a pod whose containers run (and are ready)."""
    now = rfc3339()
    status = clone(pod.get("status") or pending_status(pod))
    status["phase"] = "Running"
    flag = "True" if ready else "False"
    status["conditions"] = [
        _condition("PodScheduled", "True", now),
        _condition("Initialized", "True", now),
        _condition("ContainersReady", flag, now),
        _condition("Ready", flag, now),
    ]
    status["containerStatuses"] = [
        {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
         "containerID": "containerd://" + hashlib.sha256(
             f"{pod['metadata'].get('uid', '')}/{c.get('name')}".encode()).hexdigest(),
         "ready": ready, "restartCount": 0, "started": True,
         "state": {"running": {"startedAt": now}}}
        for c in (pod.get("spec") or {}).get("containers") or []
    ]
    return status


def finished_status(pod: dict, *, succeeded: bool) -> dict:
    """Status of a pod whose containers exited (Job pods)."""
    now = rfc3339()
    status = clone(pod.get("status") or pending_status(pod))
    status["phase"] = "Succeeded" if succeeded else "Failed"
    reason = "PodCompleted" if succeeded else "PodFailed"
    status["conditions"] = [
        _condition("PodScheduled", "True", now),
        _condition("Initialized", "True", now, reason),
        _condition("ContainersReady", "False", now, reason),
        _condition("Ready", "False", now, reason),
    ]
    status["containerStatuses"] = [
        {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
         "ready": False, "restartCount": 0, "started": False,
         "state": {"terminated": {"exitCode": 0 if succeeded else 1,
                                  "reason": "Completed" if succeeded else "Error",
                                  "startedAt": status.get("startTime", now),
                                  "finishedAt": now}}}
        for c in (pod.get("spec") or {}).get("containers") or []
    ]
    return status


def _condition(kind: str, status: str, now: str, reason: str | None = None,
               message: str | None = None) -> dict:
    cond: dict[str, Any] = {"type": kind, "status": status, "lastProbeTime": None,
                            "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def is_ready(pod: dict) -> bool:
    """Pod condition Ready is True."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def container_image(pod: dict) -> str:
    """Image of the pod's first container."""
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("image", "")


def revision_of(store: Store, pod: dict) -> str:
    """The workload revision a pod belongs to (ReplicaSet revision or ControllerRevision
    number), ``""`` if it has none."""
    ref = controller_of(pod)
    namespace = pod["metadata"].get("namespace")
    if ref is None:
        return ""
    if ref.get("kind") == "ReplicaSet":
        rs = store.peek(REPLICASET, namespace, ref.get("name", ""))
        annotations = (rs or {}).get("metadata", {}).get("annotations") or {}
        return annotations.get("deployment.kubernetes.io/revision", "")
    if ref.get("kind") in ("StatefulSet", "DaemonSet"):
        label = (pod["metadata"].get("labels") or {}).get("controller-revision-hash", "")
        name = label if ref["kind"] == "StatefulSet" else f"{ref.get('name')}-{label}"
        cr = store.peek(CONTROLLER_REVISION, namespace, name)
        return str(cr.get("revision", "")) if cr else ""
    return ""
