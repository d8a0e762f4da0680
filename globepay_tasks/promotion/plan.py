"""What an apply will change, predicted from the cluster's state and the rendered overlay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import kinds
from ..kubectl import WorkloadRef
from ..workloads import Rendered, WorkloadState, template_key

NEW, CHANGE, SAME, UNKNOWN = "new", "change", "unchanged", "unknown"
#: A Job whose pod template changes: its template is immutable, so it is deleted (its pods
#: with it) and created again by the apply.
REPLACE = "replace"


@dataclass(frozen=True)
class PlannedChange:
    """One rendered workload: ``new``, ``change``, ``replace`` (a Job that changes),
    ``unchanged`` or ``unknown`` (it exists but was never written by ``kubectl apply``, and
    its images are the same)."""

    ref: WorkloadRef
    action: str
    images_before: Mapping[str, str]
    images_after: Mapping[str, str]

    def describe(self) -> str:
        """``deployment/backend: change, backend 1.4.1 -> 1.6.0``."""
        moved = [f"{name} {short_image(self.images_before.get(name, ''))} -> "
                 f"{short_image(image)}" for name, image in self.images_after.items()
                 if self.images_before.get(name) != image]
        if self.action == NEW:
            moved = [f"{name} {short_image(image)}" for name, image in self.images_after.items()]
        detail = f", {', '.join(moved)}" if moved else ""
        return f"{self.ref}: {self.action}{detail}"


def short_image(image: str) -> str:
    """The tag (or digest) of an image reference; the whole reference without one."""
    if not image:
        return "-"
    if "@" in image:
        return image.split("@", 1)[1][:19]
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else image


def planned_refs(rendered: Rendered) -> list[WorkloadRef]:
    """What the plan shows: the rendered workloads, then the CronJobs (applied, not waited
    on)."""
    cronjobs = [WorkloadRef(obj["kind"], obj["metadata"]["name"]) for obj in rendered.objects
                if kinds.is_templated(obj) and not kinds.is_workload(obj)]
    return [*rendered.workloads, *cronjobs]


def predict(rendered: Rendered, before: Mapping[WorkloadRef, WorkloadState]) -> list[PlannedChange]:
    """Compare each rendered workload (and CronJob, `planned_refs`) with what the cluster runs
    and last had applied."""
    objects = {
        WorkloadRef(obj["kind"], obj["metadata"]["name"]): obj for obj in rendered.objects
        if kinds.is_templated(obj)
    }
    planned = []
    for ref in planned_refs(rendered):
        obj = objects[ref]
        state = before.get(ref) or WorkloadState(ref, exists=False)
        images = kinds.images_of(obj)
        if not state.exists:
            action = NEW
        elif dict(state.images) != images:
            action = CHANGE
        elif not state.applied:
            action = UNKNOWN
        else:
            template = template_key(ref.rules.pod_template(obj))
            action = SAME if template == state.applied else CHANGE
        if action == CHANGE and ref.rules.replaced_on_change:
            action = REPLACE
        planned.append(PlannedChange(ref, action, dict(state.images), images))
    return planned


def replaced(planned: Iterable[PlannedChange]) -> list[WorkloadRef]:
    """The workloads ``planned`` replaces (deleted, then created by the apply)."""
    return [item.ref for item in planned if item.action == REPLACE]


def summarize(planned: list[PlannedChange]) -> str:
    """``1 to change, 0 new, 1 unchanged`` (``1 to replace`` after the changes when a Job is
    replaced)."""
    replacing = sum(p.action == REPLACE for p in planned)
    text = (f"{sum(p.action == CHANGE for p in planned)} to change, "
            + (f"{replacing} to replace, " if replacing else "") +
            f"{sum(p.action == NEW for p in planned)} new, "
            f"{sum(p.action == SAME for p in planned)} unchanged")
    unknown = sum(p.action == UNKNOWN for p in planned)
    return text + (f", {unknown} unknown" if unknown else "")
