"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for.

Only kinds with a printer here are answered as a Table; for the others the server answers
JSON and kubectl falls back to NAME/AGE, as it does against any server without printers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

Column = tuple[str, str, int]  # (name, type, priority)


def human_duration(seconds: float) -> str:
    """Go's ``duration.HumanDuration`` (what the Age column shows)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _since(stamp: str | None) -> str:
    """``translateTimestampSince``: how long ago an RFC 3339 time was (``<unknown>`` if unset)."""
    if not stamp:
        return "<unknown>"
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration(time.time() - moment.timestamp())


def _age(obj: dict) -> str:
    return _since((obj.get("metadata") or {}).get("creationTimestamp"))


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _containers(obj: dict) -> list[dict]:
    template = _spec(obj).get("template") or {}
    return (template.get("spec") or {}).get("containers") or []


def _selector(obj: dict) -> str:
    labels = (_spec(obj).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _restartable(container: dict | None) -> bool:
    """A sidecar: an init container with ``restartPolicy: Always``."""
    return (container or {}).get("restartPolicy") == "Always"


def _terminated_reason(terminated: dict, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _condition_true(status: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in status.get("conditions") or [])


def _pod_row(pod: dict) -> list[Any]:
    """kubectl's ``printPod``: READY, STATUS (the phase, or the reason a container waits or
    ended with), RESTARTS (``N (AGE ago)`` since the last restart), AGE, then the wide ones."""
    status, spec = _status(pod), _spec(pod)
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(map(_restartable, init_specs.values()))
    ready = restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = ""  # RFC 3339 in UTC: compares as text
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(container.get("restartCount", 0))
        finished = ((container.get("lastState") or {}).get("terminated") or {}).get(
            "finishedAt") or ""
        last_restart = max(last_restart, finished)
        sidecar = _restartable(init_specs.get(container.get("name")))
        if sidecar:
            sidecar_restarts += int(container.get("restartCount", 0))
            last_sidecar_restart = max(last_sidecar_restart, finished)
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if terminated is not None and not terminated.get("exitCode"):
            continue
        if sidecar and container.get("started"):
            ready += bool(container.get("ready"))
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break
    if not initializing or _condition_true(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount", 0))
            finished = ((container.get("lastState") or {}).get("terminated") or {}).get(
                "finishedAt") or ""
            last_restart = max(last_restart, finished)
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    shown = str(restarts)
    if restarts and last_restart:
        shown = f"{restarts} ({_since(last_restart)} ago)"
    ips = status.get("podIPs") or []
    gates = spec.get("readinessGates") or []
    gates_shown = "<none>"
    if gates:
        true = sum(1 for gate in gates
                   if _condition_true(status, gate.get("conditionType", "")))
        gates_shown = f"{true}/{len(gates)}"
    return [f"{ready}/{total}", reason, shown, _age(pod),
            (ips[0].get("ip") if ips else status.get("podIP")) or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            gates_shown]


def _pod_conditions(pod: dict) -> list[dict]:
    """The row conditions kubectl's printer gives a finished pod."""
    phase = _status(pod).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return []


def _job_status(job: dict) -> str:
    for cond in _status(job).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return cond["type"]
    return "Suspended" if _spec(job).get("suspend") else "Running"


def _job_duration(job: dict) -> str:
    """From the Job's start to its completion (to now while it runs); empty before it starts
    (and for a failed Job, which has no completionTime, the time since it started)."""
    status = _status(job)
    if not status.get("startTime"):
        return ""
    started = _timestamp(status["startTime"])
    ended = _timestamp(status["completionTime"]) if status.get("completionTime") else time.time()
    return human_duration(ended - started)


def _timestamp(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()


def _service_ports(svc: dict) -> str:
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in _spec(svc).get("ports") or []]
    return ",".join(ports) or "<none>"


_AGE: Column = ("Age", "string", 0)
PRINTERS: dict[str, tuple[list[Column], Callable[[dict], list[Any]]]] = {
    "Pod": ([("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), _AGE,
             ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)], _pod_row),
    "Deployment": ([("Ready", "string", 0), ("Up-to-date", "integer", 0),
                    ("Available", "integer", 0), _AGE, ("Containers", "string", 1),
                    ("Images", "string", 1), ("Selector", "string", 1)],
                   lambda o: [f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
                              _status(o).get("updatedReplicas", 0),
                              _status(o).get("availableReplicas", 0), _age(o),
                              ",".join(c.get("name", "") for c in _containers(o)),
                              ",".join(c.get("image", "") for c in _containers(o)),
                              _selector(o)]),
    "ReplicaSet": ([("Desired", "integer", 0), ("Current", "integer", 0),
                    ("Ready", "integer", 0), _AGE, ("Containers", "string", 1),
                    ("Images", "string", 1), ("Selector", "string", 1)],
                   lambda o: [_spec(o).get("replicas", 1), _status(o).get("replicas", 0),
                              _status(o).get("readyReplicas", 0), _age(o),
                              ",".join(c.get("name", "") for c in _containers(o)),
                              ",".join(c.get("image", "") for c in _containers(o)),
                              _selector(o)]),
    "StatefulSet": ([("Ready", "string", 0), _AGE, ("Containers", "string", 1),
                     ("Images", "string", 1)],
                    lambda o: [f"{_status(o).get('readyReplicas', 0)}/"
                               f"{_spec(o).get('replicas', 1)}", _age(o),
                               ",".join(c.get("name", "") for c in _containers(o)),
                               ",".join(c.get("image", "") for c in _containers(o))]),
    "DaemonSet": ([("Desired", "integer", 0), ("Current", "integer", 0),
                   ("Ready", "integer", 0), ("Up-to-date", "integer", 0),
                   ("Available", "integer", 0), ("Node Selector", "string", 0), _AGE],
                  lambda o: [_status(o).get("desiredNumberScheduled", 0),
                             _status(o).get("currentNumberScheduled", 0),
                             _status(o).get("numberReady", 0),
                             _status(o).get("updatedNumberScheduled", 0),
                             _status(o).get("numberAvailable", 0), "<none>", _age(o)]),
    "Job": ([("Status", "string", 0), ("Completions", "string", 0), ("Duration", "string", 0),
             _AGE],
            lambda o: [_job_status(o), f"{_status(o).get('succeeded', 0)}/"
                                       f"{_spec(o).get('completions', 1)}",
                       _job_duration(o), _age(o)]),
    "Service": ([("Type", "string", 0), ("Cluster-IP", "string", 0),
                 ("External-IP", "string", 0), ("Port(s)", "string", 0), _AGE,
                 ("Selector", "string", 1)],
                lambda o: [_spec(o).get("type", "ClusterIP"), _spec(o).get("clusterIP", "None"),
                           "<none>", _service_ports(o), _age(o),
                           ",".join(f"{k}={v}" for k, v in sorted(
                               (_spec(o).get("selector") or {}).items())) or "<none>"]),
    "Namespace": ([("Status", "string", 0), _AGE],
                  lambda o: [_status(o).get("phase", "Active"), _age(o)]),
    "ConfigMap": ([("Data", "integer", 0), _AGE],
                  lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o)]),
    "Secret": ([("Type", "string", 0), ("Data", "integer", 0), _AGE],
               lambda o: [o.get("type", "Opaque"), len(o.get("data") or {}), _age(o)]),
}


#: Row conditions (``Completed`` for a finished pod), as kubectl's printers set them.
ROW_CONDITIONS: dict[str, Callable[[dict], list[dict]]] = {"Pod": _pod_conditions}


def wants_table(accept: str | None) -> bool:
    """Does the Accept header ask for a Table (``application/json;as=Table;...``)?"""
    return bool(accept) and "as=Table" in accept


def has_printer(kind: str) -> bool:
    return kind in PRINTERS


def _row(obj: dict, kind: str) -> dict:
    _, cells = PRINTERS[kind]
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    row: dict[str, Any] = {"cells": [meta.get("name", ""), *cells(obj)]}
    conditions = ROW_CONDITIONS.get(kind)
    if conditions is not None and conditions(obj):
        row["conditions"] = conditions(obj)
    row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                     "metadata": meta}
    return row


def table(kind: str, objects: list[dict], resource_version: str | None = None) -> dict:
    """A Table with one row per object."""
    columns, _ = PRINTERS[kind]
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name",
                    "priority": 0}]
    definitions += [{"name": name, "type": kind_, "format": "", "description": name,
                     "priority": priority} for name, kind_, priority in columns]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version} if resource_version else {},
            "columnDefinitions": definitions,
            "rows": [_row(o, kind) for o in objects]}
