"""An environment's objects as a Kubernetes ApplySet (KEP 3659): each object the tool applies
carries the label ``applyset.kubernetes.io/part-of``, and a parent ConfigMap in the namespace
names the set and the kinds it holds, so that ``kubectl apply --prune --applyset`` and other
tools see the same set the tool prunes. Pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable

from . import guards
from .manifests import Rendered

PARENT = "globepay-applyset"
PART_OF = "applyset.kubernetes.io/part-of"
ID_LABEL = "applyset.kubernetes.io/id"
TOOLING = "applyset.kubernetes.io/tooling"
KINDS = "applyset.kubernetes.io/contains-group-kinds"
#: kubectl accepts a parent only when its tooling is ``kubectl/...``: the tool manages the set
#: with kubectl's own rules, so that ``kubectl apply --prune --applyset`` can take it over.
TOOLING_VALUE = "kubectl/v1.37"


def set_id(namespace: str) -> str:
    """The set's id: ``applyset-`` base64url(sha256(``NAME.NAMESPACE.KIND.GROUP``)) ``-v1``
    of its parent ConfigMap, as kubectl computes it."""
    digest = hashlib.sha256(f"{PARENT}.{namespace}.ConfigMap.".encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"


def is_member(obj: dict) -> bool:
    """Whether an object of an overlay goes into the set: every namespaced object (the
    Namespace and other cluster-scoped objects are never pruned)."""
    return obj.get("kind") not in guards.CLUSTER_SCOPED_KINDS


def group_kind(obj: dict) -> str:
    """``Deployment.apps``, ``ConfigMap``: how the parent names a kind."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{obj.get('kind')}.{group}" if group else str(obj.get("kind"))


def resource_of_group_kind(text: str) -> str:
    """What ``kubectl get`` takes for a group-kind: ``deployment.apps``, ``configmap``."""
    kind, _, group = text.partition(".")
    return f"{kind.lower()}.{group}" if group else kind.lower()


def labelled(rendered: Rendered, namespace: str) -> Rendered:
    """``rendered`` with every member labelled ``part-of`` the namespace's set (the manifest
    written again as JSON documents)."""
    value = set_id(namespace)
    objects = []
    for obj in rendered.objects:
        if is_member(obj):
            meta = obj.get("metadata") or {}
            obj = {**obj, "metadata": {**meta, "labels": {**(meta.get("labels") or {}),
                                                          PART_OF: value}}}
        objects.append(obj)
    manifest = "---\n".join(json.dumps(obj) + "\n" for obj in objects)
    return Rendered(rendered.overlay, tuple(objects), rendered.workloads,
                    rendered.kustomization, manifest)


def group_kinds(objects: Iterable[dict]) -> set[str]:
    return {group_kind(obj) for obj in objects if is_member(obj)}


def parent_kinds(parent: dict | None) -> set[str]:
    """The group-kinds a parent says its set holds."""
    text = (((parent or {}).get("metadata") or {}).get("annotations") or {}).get(KINDS, "")
    return {item for item in text.split(",") if item}


def parent(namespace: str, kinds: Iterable[str]) -> dict:
    """The parent ConfigMap of the namespace's set, holding ``kinds``."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": PARENT, "namespace": namespace,
                         "labels": {ID_LABEL: set_id(namespace),
                                    "app.kubernetes.io/managed-by": "globepay-tasks"},
                         "annotations": {TOOLING: TOOLING_VALUE,
                                         KINDS: ",".join(sorted(set(kinds)))}}}


def members(objects: Iterable[dict], namespace: str) -> list[dict]:
    """The objects among ``objects`` labelled as part of the namespace's set."""
    value = set_id(namespace)
    return [obj for obj in objects
            if ((obj.get("metadata") or {}).get("labels") or {}).get(PART_OF) == value]
