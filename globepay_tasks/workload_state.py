"""What the cluster says about one workload at one moment, and its pod template as
comparable text. Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import kinds, kubectl
from .kubectl import WorkloadRef


@dataclass(frozen=True)
class WorkloadState:
    """What the cluster says about one workload at one moment."""

    ref: WorkloadRef
    exists: bool
    template: str = ""
    revision: str = ""
    images: Mapping[str, str] = field(default_factory=dict)
    ready: str = ""
    #: The pod template as last written by ``kubectl apply`` ("" when never applied).
    applied: str = ""
    progress: str = ""
    #: It has ended and failed (a Job with its Failed condition).
    failed: bool = False

    @classmethod
    def from_object(cls, obj: dict) -> WorkloadState:
        ref = WorkloadRef(obj["kind"], obj["metadata"]["name"])
        rules = ref.rules
        return cls(
            ref=ref,
            exists=True,
            template=template_key(rules.pod_template(obj)),
            revision=rules.revision(obj),
            images=rules.images(obj),
            ready=rules.ready(obj),
            applied=_applied_template(obj),
            progress=rules.progress(obj),
            failed=rules.replaced_on_change and rules.rollout(obj).failed,
        )


def template_key(template: dict) -> str:
    """A pod template as comparable text (volatile fields dropped)."""
    return json.dumps(_without_volatile(template), sort_keys=True)


def _applied_template(obj: dict) -> str:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    try:
        applied = json.loads(annotations.get(kubectl.LAST_APPLIED_ANNOTATION) or "{}")
        template = kinds.of(obj["kind"]).pod_template(applied) if applied else None
        return template_key(template) if template else ""
    except (ValueError, KeyError, TypeError):
        return ""


def _without_volatile(template: dict) -> dict:
    clean = json.loads(json.dumps(template))
    metadata = clean.get("metadata") or {}
    metadata.pop("creationTimestamp", None)
    (metadata.get("labels") or {}).pop("pod-template-hash", None)
    clean["metadata"] = metadata
    return clean
