"""Simulated pods: building them from templates, their status, and what they run.

What a container does is read from its image reference (the sandbox pulls and runs nothing):

- ``broken`` anywhere in it: the image cannot be pulled. The container waits in
  ``ErrImagePull`` with the runtime's not-found error (``rpc error: code = NotFound desc =
  failed to pull and unpack image "docker.io/library/nginx:broken": failed to resolve reference
  ...: not found``) for :data:`PULL_ERROR_SECONDS` simulated seconds after the pod appears,
  then in ``ImagePullBackOff`` (``Back-off pulling image "nginx:broken"``); the pod stays
  Pending and never becomes ready.
- ``crash`` anywhere in it (and no ``broken`` image in the pod): the image is pulled and the
  container starts when a healthy one would, but its command exits with code 1 at once, every
  time. Where the pod restarts containers (``restartPolicy`` Always or OnFailure) the kubelet
  restarts it at once after the first exit, then after a back-off of 10 s doubling up to 5 min
  (:func:`crash_loop`): the pod is Running, the container not ready and not started, waiting
  in ``CrashLoopBackOff`` (``back-off 20s restarting failed container=CONTAINER
  pod=NAME_NAMESPACE(UID)``) with its last run in ``lastState.terminated`` (exit code 1,
  ``Error``) and ``restartCount`` growing with the simulated time. With ``restartPolicy:
  Never`` the pod fails instead (the Job controller decides when: see ctl_job.py).

Init containers' images count too; their failure is reported on the pod's containers (the
sandbox keeps no ``initContainerStatuses``).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .clock import rfc3339
from .goformat import duration
from .resources import by_kind
from .store import Store, clone

ROLLOUT_ANNOTATION = "sandbox.globepay.dev/rollout-seconds"
NODES = ("node-1", "node-2", "node-3")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RNG = random.Random()
REPLICASET = by_kind("apps/v1", "ReplicaSet")
CONTROLLER_REVISION = by_kind("apps/v1", "ControllerRevision")
#: Simulated seconds a failed image pull is reported as ``ErrImagePull`` before the kubelet's
#: back-off shows (its pod worker retries a failed sync after about 10 s).
PULL_ERROR_SECONDS = 10.0
#: The kubelet's container restart back-off: 10 s, doubling, at most 5 min.
CRASH_BACKOFF_SECONDS = 10.0
CRASH_BACKOFF_MAX_SECONDS = 300.0


def random_suffix(length: int = 5) -> str:
    """Random name suffix in the alphabet Kubernetes uses for generated names."""
    return "".join(_RNG.choice(_SUFFIX_ALPHABET) for _ in range(length))


def _containers(pod_spec: dict | None) -> list[dict]:
    spec = pod_spec or {}
    return [c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
            if isinstance(c, dict)]


def _failing(pod_spec: dict | None, word: str) -> list[dict]:
    return [c for c in _containers(pod_spec) if word in str(c.get("image", ""))]


def is_broken(pod_spec: dict | None) -> bool:
    """A pod spec whose images can never be pulled: any image reference containing
    ``broken`` (see the module docstring)."""
    return bool(_failing(pod_spec, "broken"))


def is_crashing(pod_spec: dict | None) -> bool:
    """A pod spec whose images are pulled but crash: any image reference containing ``crash``,
    none containing ``broken`` (see the module docstring)."""
    return bool(_failing(pod_spec, "crash")) and not is_broken(pod_spec)


def restart_policy(pod_spec: dict | None) -> str:
    """``spec.restartPolicy`` (the API's default: Always)."""
    return str((pod_spec or {}).get("restartPolicy") or "Always")


def normalized_reference(image: str) -> str:
    """The image reference as containerd resolves it: ``nginx:1`` ->
    ``docker.io/library/nginx:1``, ``:latest`` when there is neither tag nor digest."""
    name, at, digest = image.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain in ("docker.io", "index.docker.io"):
        domain = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    reference = f"{domain}/{path}"
    if tag:
        reference += f":{tag}"
    if at:
        reference += f"@{digest}"
    elif not tag:
        reference += ":latest"
    return reference


def pull_error(image: str) -> str:
    """What containerd answers the kubelet for an image that does not exist (the kubelet
    reports it as the ``ErrImagePull`` message)."""
    ref = normalized_reference(image)
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": {ref}: not found')


def crash_loop(elapsed: float) -> tuple[int, float, float, float]:
    """A crash loop ``elapsed`` simulated seconds after the container first started:
    ``(restartCount, back-off shown, when it last exited, when it restarts next)``, times
    relative to that first start. The first run exits at once and is restarted at once; the
    second exits at once too and waits 10 s, the next 20 s, 40 s, ... 300 s each."""
    restarts, exited, backoff = 1, 0.0, CRASH_BACKOFF_SECONDS
    while backoff < CRASH_BACKOFF_MAX_SECONDS and exited + backoff <= elapsed:
        exited += backoff
        restarts += 1
        backoff = min(backoff * 2, CRASH_BACKOFF_MAX_SECONDS)
    if exited + backoff <= elapsed:  # at the cap: one restart every 300 s
        more = int((elapsed - exited) // backoff)
        exited += more * backoff
        restarts += more
    return restarts, backoff, exited, exited + backoff


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
    repo, _, digest = image.partition("@sha256:")
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:  # the runtime reports the repository without the tag
        repo = repo[: len(repo) - len(last)] + last.split(":", 1)[0]
    return (f"docker-pullable://{repo}@sha256:"
            f"{digest or hashlib.sha256(image.encode()).hexdigest()}")


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


def _container_id(pod: dict, name: str | None, attempt: int = 0) -> str:
    seed = f"{pod['metadata'].get('uid', '')}/{name}" + (f"/{attempt}" if attempt else "")
    return "containerd://" + hashlib.sha256(seed.encode()).hexdigest()


def _unready(names: list[str]) -> str:
    return f"containers with unready status: [{' '.join(names)}]"


def _crashing_names(pod_spec: dict | None) -> set[str | None]:
    """Names of the containers that crash (all of them when only an init container's image
    does: the sandbox shows its failure on them)."""
    if not is_crashing(pod_spec):
        return set()
    names = {c.get("name") for c in (pod_spec or {}).get("containers") or []}
    crashing = {c.get("name") for c in _failing(pod_spec, "crash")} & names
    return crashing or names


def _keep_transitions(conditions: list[dict], old: list[dict]) -> list[dict]:
    """Conditions whose status did not change keep their ``lastTransitionTime``."""
    before = {c.get("type"): c for c in old}
    for cond in conditions:
        prior = before.get(cond["type"])
        if prior is not None and prior.get("status") == cond["status"]:
            cond["lastTransitionTime"] = prior.get("lastTransitionTime",
                                                   cond["lastTransitionTime"])
    return conditions


def _pull_failure(pod: dict, container: dict, pull_failed_for: float) -> dict | None:
    """The waiting state of a container whose image (or an init container's) is broken."""
    spec = pod.get("spec") or {}
    image = str(container.get("image", ""))
    if "broken" not in image:
        failing = _failing(spec, "broken")
        if not failing or any("broken" in str(c.get("image", ""))
                              for c in spec.get("containers") or []):
            return None
        image = str(failing[0].get("image", ""))  # an init container's: shown on every one
    if pull_failed_for < PULL_ERROR_SECONDS:
        return {"reason": "ErrImagePull", "message": pull_error(image)}
    return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}


def pending_status(pod: dict, *, pull_failed_for: float = 0.0) -> dict:
    """Status of a pod whose containers have not started (yet, or ever when broken: then
    ``pull_failed_for`` simulated seconds after its first pull failed)."""
    now = rfc3339()
    node = (pod.get("spec") or {}).get("nodeName")
    statuses = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        waiting = _pull_failure(pod, c, pull_failed_for) or {"reason": "ContainerCreating"}
        statuses.append({"name": c.get("name"), "image": c.get("image"), "imageID": "",
                         "ready": False, "restartCount": 0, "started": False,
                         "state": {"waiting": waiting}})
    unready = _unready([str(c.get("name")) for c in statuses])
    old = pod.get("status") or {}
    conditions = [
        _condition("PodScheduled", "True", now),
        _condition("Initialized", "True", now),
        _condition("ContainersReady", "False", now, "ContainersNotReady", unready),
        _condition("Ready", "False", now, "ContainersNotReady", unready),
    ]
    return {
        "phase": "Pending",
        "conditions": _keep_transitions(conditions, old.get("conditions") or []),
        "containerStatuses": statuses,
        "hostIP": old.get("hostIP") or
        f"192.168.0.{NODES.index(node) + 10 if node in NODES else 10}",
        "podIP": old.get("podIP") or f"10.244.{_RNG.randint(0, 255)}.{_RNG.randint(2, 254)}",
        "qosClass": "BestEffort",
        "startTime": old.get("startTime") or now,
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
         "containerID": _container_id(pod, c.get("name")),
         "ready": ready, "restartCount": 0, "started": True,
         "state": {"running": {"startedAt": now}}}
        for c in (pod.get("spec") or {}).get("containers") or []
    ]
    return status


def crashloop_status(pod: dict, elapsed: float) -> dict:
    """Status of a pod whose ``crash`` containers have been crash-looping for ``elapsed``
    simulated seconds (see :func:`crash_loop`); its other containers run. What did not change
    since the pod's current status (start and exit times, transition times) is kept, so
    the same moment of the loop gives the same status."""
    now = rfc3339()
    old = pod.get("status") or {}
    status = clone(old or pending_status(pod))
    previous = {c.get("name"): c for c in old.get("containerStatuses") or []}
    restarts, backoff, _, _ = crash_loop(elapsed)
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    crashing = _crashing_names(spec)
    statuses = []
    for c in spec.get("containers") or []:
        name, image = c.get("name"), c.get("image", "")
        before = previous.get(name) or {}
        entry: dict[str, Any] = {"name": name, "image": image, "imageID": image_id(image)}
        if name not in crashing:
            started = ((before.get("state") or {}).get("running") or {}).get("startedAt", now)
            entry.update(containerID=_container_id(pod, name), ready=True, restartCount=0,
                         started=True, state={"running": {"startedAt": started}})
            statuses.append(entry)
            continue
        last = (before.get("lastState") or {}).get("terminated")
        if before.get("restartCount") != restarts or not last:
            last = {"containerID": _container_id(pod, name, restarts), "exitCode": 1,
                    "reason": "Error", "startedAt": now, "finishedAt": now}
        message = (f"back-off {duration(backoff)} restarting failed container={name} "
                   f"pod={meta.get('name')}_{meta.get('namespace')}({meta.get('uid', '')})")
        entry.update(containerID=last["containerID"], lastState={"terminated": last},
                     ready=False, restartCount=restarts, started=False,
                     state={"waiting": {"reason": "CrashLoopBackOff", "message": message}})
        statuses.append(entry)
    unready = _unready([str(c["name"]) for c in statuses if not c["ready"]])
    conditions = [
        _condition("PodScheduled", "True", now),
        _condition("Initialized", "True", now),
        _condition("ContainersReady", "False", now, "ContainersNotReady", unready),
        _condition("Ready", "False", now, "ContainersNotReady", unready),
    ]
    status["phase"] = "Running"
    status["conditions"] = _keep_transitions(conditions, old.get("conditions") or [])
    status["containerStatuses"] = statuses
    return status


def finished_status(pod: dict, *, succeeded: bool) -> dict:
    """Status of a pod whose containers exited (Job pods; a ``crash`` container exits with 1,
    the others of a failed pod as well unless the pod has a ``crash`` container)."""
    now = rfc3339()
    status = clone(pod.get("status") or pending_status(pod))
    status["phase"] = "Succeeded" if succeeded else "Failed"
    reason = "PodCompleted" if succeeded else "PodFailed"
    status["conditions"] = [
        _condition("PodScheduled", "True", now),
        _condition("Initialized", "True", now, "PodCompleted" if succeeded else None),
        _condition("ContainersReady", "False", now, reason),
        _condition("Ready", "False", now, reason),
    ]
    spec = pod.get("spec") or {}
    crashing = _crashing_names(spec)
    previous = {c.get("name"): c for c in status.get("containerStatuses") or []}
    statuses = []
    for c in spec.get("containers") or []:
        name = c.get("name")
        ok = succeeded or bool(crashing) and name not in crashing
        running = ((previous.get(name) or {}).get("state") or {}).get("running") or {}
        terminated = {"exitCode": 0 if ok else 1, "reason": "Completed" if ok else "Error",
                      "startedAt": running.get("startedAt") or status.get("startTime", now),
                      "finishedAt": now}
        entry: dict[str, Any] = {"name": name, "image": c.get("image"),
                                 "imageID": image_id(c.get("image", "")), "ready": False,
                                 "restartCount": 0, "started": False}
        if running:  # it ran: the runtime knows the container
            entry["containerID"] = terminated["containerID"] = (
                previous[name].get("containerID") or _container_id(pod, name))
        entry["state"] = {"terminated": terminated}
        statuses.append(entry)
    status["containerStatuses"] = statuses
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
