"""Deployment controller: revisions as ReplicaSets, a stepwise rollout, progress deadlines.

On a template change the controller reuses the ReplicaSet whose template matches (giving it
revision max+1 and recording its old number in ``revision-history``) or creates
``<name>-<template hash>``. The new ReplicaSet is scaled to ``spec.replicas`` at once; the
ReplicaSet controller makes its pods appear after half the rollout time and ready after the
full time. Once all new pods are available the old ReplicaSets are scaled to 0. A rollout not
complete within ``progressDeadlineSeconds`` (simulated) gets Progressing=False /
ProgressDeadlineExceeded.
"""

from __future__ import annotations

import math

from .clock import rfc3339
from .ctl_base import Manager, rt_of, set_condition, write_object, write_status
from .defaults import normalized_template, template_hash
from .podutil import controller_of, owner_reference
from .store import clone

DEPLOYMENT = rt_of("Deployment")
REPLICASET = rt_of("ReplicaSet")
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_NOT_COPIED = {REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS, LAST_APPLIED}
HASH_LABEL = "pod-template-hash"


def revision(rs: dict) -> int:
    """The ``deployment.kubernetes.io/revision`` of a ReplicaSet (0 if missing)."""
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _scaled(value: object, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = replicas * int(value[:-1] or 0) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value) if isinstance(value, int) else (1 if round_up else 0)


def max_unavailable(deployment: dict, replicas: int) -> int:
    """``spec.strategy.rollingUpdate.maxUnavailable`` resolved against ``replicas``."""
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


class DeploymentController:
    """Reconciles Deployments (see the module docstring)."""

    kind = "Deployment"

    def __init__(self, manager: Manager) -> None:
        self.m = manager
        #: deployment uid -> (simulated start of the current rollout, new ReplicaSet name)
        self._rollout: dict[str, tuple[float, str]] = {}
        #: ReplicaSet uid -> (its generation, its pod template normalized)
        self._templates: dict[str, tuple[object, dict]] = {}

    # --- ReplicaSets ---------------------------------------------------------------------

    def _template_of(self, rs: dict) -> dict:
        """An owned ReplicaSet's pod template as `normalized_template` compares it, kept until
        its spec changes (a new generation): every reconcile compares each of them."""
        meta = rs["metadata"]
        kept = self._templates.get(meta["uid"])
        if kept is None or kept[0] != meta.get("generation"):
            kept = self._templates[meta["uid"]] = (meta.get("generation"), normalized_template(
                (rs.get("spec") or {}).get("template") or {}))
        return kept[1]

    def _owned(self, uid: str) -> list[dict]:
        return [o for o in self.m.store.children(uid)
                if o.get("kind") == "ReplicaSet" and (controller_of(o) or {}).get("uid") == uid]

    @staticmethod
    def _rs_annotations(deployment: dict, rev: int, history: str | None,
                        replicas: int) -> dict:
        annotations = {k: v for k, v in
                       ((deployment["metadata"].get("annotations") or {}).items())
                       if k not in _NOT_COPIED}
        annotations[REVISION] = str(rev)
        annotations[DESIRED] = str(replicas)
        if history:
            annotations[REVISION_HISTORY] = history
        return annotations

    def _create_rs(self, deployment: dict, rev: int, replicas: int) -> dict:
        store = self.m.store
        meta = deployment["metadata"]
        template = clone((deployment.get("spec") or {}).get("template") or {})
        tmeta = template.setdefault("metadata", {})
        tmeta.pop("creationTimestamp", None)
        digest = template_hash(template)
        name = f"{meta['name']}-{digest}"
        salt = 0
        while store.peek(REPLICASET, meta.get("namespace"), name) is not None:
            salt += 1
            digest = template_hash({**template, "collision": salt})
            name = f"{meta['name']}-{digest}"
        tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: digest}
        selector = clone((deployment.get("spec") or {}).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: digest}
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": meta.get("namespace"),
                "labels": dict(tmeta["labels"]),
                "annotations": self._rs_annotations(deployment, rev, None, replicas),
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        spec = deployment.get("spec") or {}
        if spec.get("minReadySeconds"):
            rs["spec"]["minReadySeconds"] = spec["minReadySeconds"]
        store.create(REPLICASET, rs)
        return store.peek(REPLICASET, meta.get("namespace"), name)

    def _sync_rs(self, deployment: dict, rs: dict, rev: int, replicas: int) -> dict:
        """Give the new ReplicaSet its revision, copied annotations and replica count."""
        annotations = rs["metadata"].get("annotations") or {}
        old_rev = revision(rs)
        history = annotations.get(REVISION_HISTORY)
        if old_rev and old_rev != rev:
            history = f"{history},{old_rev}" if history else str(old_rev)
        wanted = self._rs_annotations(deployment, rev, history, replicas)
        if wanted == annotations and (rs.get("spec") or {}).get("replicas") == replicas:
            return rs
        new = clone(rs)
        new["metadata"]["annotations"] = wanted
        new["spec"]["replicas"] = replicas
        return write_object(self.m.store, REPLICASET, new)

    def _scale(self, rs: dict, replicas: int) -> dict:
        if (rs.get("spec") or {}).get("replicas") == replicas:
            return rs
        new = clone(rs)
        new["spec"]["replicas"] = replicas
        return write_object(self.m.store, REPLICASET, new)

    # --- reconcile -----------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        store = self.m.store
        deployment = store.peek(DEPLOYMENT, namespace, name)
        if deployment is None:
            return None
        meta = deployment["metadata"]
        uid = meta["uid"]
        spec = deployment.get("spec") or {}
        replicas = int(spec.get("replicas", 1) or 0)
        template = spec.get("template") or {}
        owned = self._owned(uid)
        max_rev = max((revision(rs) for rs in owned), default=0)
        wanted = normalized_template(template)
        matching = [rs for rs in owned if self._template_of(rs) == wanted]
        new_rs = max(matching, key=revision) if matching else None
        paused = bool(spec.get("paused"))
        reason = None
        if not paused:
            if new_rs is None:
                new_rs = self._create_rs(deployment, max_rev + 1, replicas)
                reason = ("NewReplicaSetCreated",
                          f'Created new replica set "{new_rs["metadata"]["name"]}"')
                self._rollout[uid] = (now, new_rs["metadata"]["name"])
            else:
                rev = revision(new_rs) if revision(new_rs) == max_rev else max_rev + 1
                if rev != revision(new_rs):
                    reason = ("FoundNewReplicaSet",
                              f'Found new replica set "{new_rs["metadata"]["name"]}"')
                    self._rollout[uid] = (now, new_rs["metadata"]["name"])
                new_rs = self._sync_rs(deployment, new_rs, rev, replicas)
            if uid not in self._rollout or self._rollout[uid][1] != new_rs["metadata"]["name"]:
                self._rollout[uid] = (now, new_rs["metadata"]["name"])
            annotations = meta.get("annotations") or {}
            if annotations.get(REVISION) != str(revision(new_rs)):
                updated = clone(deployment)
                updated["metadata"].setdefault("annotations", {})[REVISION] = str(revision(new_rs))
                deployment = write_object(store, DEPLOYMENT, updated)
        olds = [rs for rs in self._owned(uid) if new_rs is None
                or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        new_status = (new_rs or {}).get("status") or {}
        complete = new_rs is not None and (
            new_status.get("availableReplicas", 0) >= replicas
            and new_status.get("replicas", 0) == replicas
            and (new_rs.get("spec") or {}).get("replicas") == replicas)
        if complete:
            olds = [self._scale(rs, 0) for rs in olds]
        self._prune(deployment, olds)
        return self._write_status(deployment, new_rs, olds, replicas, complete, paused, reason,
                                  now)

    def _prune(self, deployment: dict, olds: list[dict]) -> None:
        limit = (deployment.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        idle = [rs for rs in olds if not (rs.get("spec") or {}).get("replicas")
                and not (rs.get("status") or {}).get("replicas")]
        idle.sort(key=revision)
        for rs in idle[: max(len(idle) - int(limit), 0)]:
            self.m.store.delete(REPLICASET, rs["metadata"].get("namespace"),
                                rs["metadata"]["name"])

    def _write_status(self, deployment: dict, new_rs: dict | None, olds: list[dict],
                      replicas: int, complete: bool, paused: bool,
                      reason: tuple[str, str] | None, now: float) -> float | None:
        all_rs = ([new_rs] if new_rs else []) + olds
        counts = [(rs.get("status") or {}) for rs in all_rs]
        total = sum(c.get("replicas", 0) for c in counts)
        ready = sum(c.get("readyReplicas", 0) for c in counts)
        available = sum(c.get("availableReplicas", 0) for c in counts)
        updated = ((new_rs or {}).get("status") or {}).get("replicas", 0)
        status: dict = {"observedGeneration": deployment["metadata"].get("generation", 1)}
        for key, value in (("replicas", total), ("updatedReplicas", updated),
                           ("readyReplicas", ready), ("availableReplicas", available),
                           ("unavailableReplicas", max(replicas - available, 0))):
            if value:
                status[key] = value
        ts = rfc3339()
        old_status = deployment.get("status") or {}
        conditions = list(old_status.get("conditions") or [])
        if available >= replicas - max_unavailable(deployment, replicas):
            available_cond = {"type": "Available", "status": "True",
                              "reason": "MinimumReplicasAvailable",
                              "message": "Deployment has minimum availability."}
        else:
            available_cond = {"type": "Available", "status": "False",
                              "reason": "MinimumReplicasUnavailable",
                              "message": "Deployment does not have minimum availability."}
        conditions = set_condition(conditions, available_cond, ts)
        uid = deployment["metadata"]["uid"]
        start, rs_name = self._rollout.get(uid, (now, (new_rs or {}).get("metadata", {})
                                                 .get("name", "")))
        deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
        due = None
        current = next((c for c in conditions if c.get("type") == "Progressing"), None)
        if not complete and current is not None \
                and current.get("reason") == "NewReplicaSetAvailable":
            start = now  # a scale-up after a finished rollout starts a new progress window
            self._rollout[uid] = (now, rs_name)
        if paused:
            progressing = {"type": "Progressing", "status": "Unknown",
                           "reason": "DeploymentPaused", "message": "Deployment is paused"}
        elif complete:
            progressing = {"type": "Progressing", "status": "True",
                           "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{rs_name}" has successfully progressed.'}
        elif deadline is not None and now - start >= float(deadline):
            progressing = {"type": "Progressing", "status": "False",
                           "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{rs_name}" has timed out progressing.'}
        else:
            if deadline is not None:
                due = start + float(deadline)
            if reason is not None:
                progressing = {"type": "Progressing", "status": "True", "reason": reason[0],
                               "message": reason[1]}
            elif updated and current is not None and current.get("status") == "True" \
                    and current.get("reason") in ("NewReplicaSetCreated", "FoundNewReplicaSet",
                                                  "ReplicaSetUpdated"):
                progressing = {"type": "Progressing", "status": "True",
                               "reason": "ReplicaSetUpdated",
                               "message": f'ReplicaSet "{rs_name}" is progressing.'}
            elif current is not None and current.get("reason") != "NewReplicaSetAvailable" \
                    and current.get("reason") != "ProgressDeadlineExceeded":
                progressing = {k: v for k, v in current.items()
                               if k not in ("lastUpdateTime", "lastTransitionTime")}
            else:
                progressing = {"type": "Progressing", "status": "True",
                               "reason": "ReplicaSetUpdated",
                               "message": f'ReplicaSet "{rs_name}" is progressing.'}
        conditions = set_condition(conditions, progressing, ts)
        order = {"Available": 0, "Progressing": 1}
        conditions.sort(key=lambda c: order.get(c.get("type", ""), 2))
        status["conditions"] = conditions
        write_status(self.m.store, DEPLOYMENT, deployment, status)
        return due
