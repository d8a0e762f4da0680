"""What an apply will change, predicted from the cluster's state and the rendered overlay:
every object's action and phase, from the one read of the namespace."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from .. import applyset, fielddiff, guards, images, kinds, manifests
from ..kubectl import WorkloadRef
from ..manifests import Rendered
from ..phases import DEPLOY, ORDER, key
from ..snapshot import Snapshot
from ..workload_state import WorkloadState, template_key

CREATE, CHANGE, SAME, UNKNOWN = "create", "change", "unchanged", "unknown"
#: A Job whose pod template changes: its template is immutable, so it is deleted (its pods
#: with it) and created again by the apply.
REPLACE = "replace"
#: An object an earlier promotion applied that the overlay no longer renders: deleted once
#: the rollout and the post-promotion hooks passed (``kept`` with --no-prune).
DELETE, KEPT = "delete", "kept"
#: The step a prune is shown in: after every phase.
PRUNE = "prune"


@dataclass(frozen=True)
class PlannedChange:
    """One rendered workload: ``new``, ``change``, ``replace`` (a Job that changes),
    ``unchanged`` or ``unknown`` (it exists but was never written by ``kubectl apply``, and
    its images are the same)."""

    ref: WorkloadRef
    action: str
    images_before: Mapping[str, str]
    images_after: Mapping[str, str]
    phase: str = DEPLOY
    #: The other fields of the pod template and the object the apply changes.
    fields: tuple[str, ...] = ()
    #: Why it is replaced although it does not change (a Job that failed: run again).
    note: str = ""

    def describe(self) -> str:
        """``deployment/backend: change, backend 1.4.1 -> 1.6.0``."""
        moved = [f"{name} {short_image(self.images_before.get(name, ''))} -> "
                 f"{short_image(image)}" for name, image in self.images_after.items()
                 if self.images_before.get(name) != image]
        if self.action == CREATE:
            moved = [f"{name} {short_image(image)}" for name, image in self.images_after.items()]
        detail = ", ".join([*moved, *few(self.fields), *([self.note] if self.note else [])])
        return f"{self.ref}: {self.action}{', ' if detail else ''}{detail}"

    @property
    def key(self) -> tuple[str, str]:
        return self.ref.kind, self.ref.name


@dataclass(frozen=True)
class ObjectChange:
    """One rendered object without a pod template (ConfigMap, Secret, Service, ...): its
    action, its phase, and what changes (field paths; a Secret's keys, never its values)."""

    kind: str
    name: str
    action: str
    phase: str = DEPLOY
    detail: str = ""

    def describe(self) -> str:
        """``configmap/backend-config: change, data.LOG_LEVEL``."""
        detail = f", {self.detail}" if self.detail else ""
        return f"{self.kind.lower()}/{self.name}: {self.action}{detail}"

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name


class Planned(Protocol):
    """A line of the plan: a `PlannedChange` or an `ObjectChange`."""

    @property
    def action(self) -> str: ...

    @property
    def phase(self) -> str: ...

    @property
    def key(self) -> tuple[str, str]: ...

    def describe(self) -> str: ...


def few(paths: Sequence[str], shown: int = 3) -> list[str]:
    """At most ``shown`` paths, then how many more."""
    more = [f"{len(paths) - shown} more fields"] if len(paths) > shown else []
    return [*paths[:shown], *more]


def short_image(image: str) -> str:
    """The tag and digest of an image reference (`images.label`); ``-`` for none."""
    return images.label(image) if image else "-"


def planned_refs(rendered: Rendered) -> list[WorkloadRef]:
    """What the plan shows: the rendered workloads, then the CronJobs (applied, not waited
    on)."""
    cronjobs = [WorkloadRef(obj["kind"], obj["metadata"]["name"]) for obj in rendered.objects
                if kinds.is_templated(obj) and not kinds.is_workload(obj)]
    return [*rendered.workloads, *cronjobs]


def predict(rendered: Rendered, before: Mapping[WorkloadRef, WorkloadState],
            phases: Mapping[tuple[str, str], str] | None = None,
            live: Snapshot | None = None) -> list[PlannedChange]:
    """Compare each rendered workload (and CronJob, `planned_refs`) with what the cluster runs
    and last had applied (``live``: the objects, to name the other fields that change)."""
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
            action = CREATE
        elif dict(state.images) != images:
            action = CHANGE
        elif not state.applied:
            action = UNKNOWN
        else:
            template = template_key(ref.rules.pod_template(obj))
            action = SAME if template == state.applied else CHANGE
        if action == CHANGE and ref.rules.replaced_on_change:
            action = REPLACE
        found = live.find(ref.kind, ref.name) if live and state.exists else None
        fields = tuple(path for path in fielddiff.changed_paths(obj, found)
                       if not _workload_noise(path)) if found and action != UNKNOWN else ()
        if action == SAME and fields:  # the pod template is the same, other fields are not
            action = CHANGE
        note = ""
        if ref.rules.replaced_on_change and state.failed and action != REPLACE:
            action, note = REPLACE, "failed before: run again"
        planned.append(PlannedChange(ref, action, dict(state.images), images,
                                     (phases or {}).get(key(obj), DEPLOY), fields, note))
    return planned


def marked(planned: Iterable[PlannedChange], source: str,
           running: Mapping[str, str]) -> list[PlannedChange]:
    """``planned`` with a note on each workload naming its images that differ from what
    ``source`` runs (``running``: image name -> reference): ``dev runs backend 1.5.0``."""
    found = []
    for item in planned:
        notes = [f"{source} runs {images.short_name(image)} {short_image(ref)}"
                 for image in dict.fromkeys(item.images_after.values())
                 if (ref := running.get(images.short_name(image)))
                 and not images.same_version(image, ref)]
        found.append(replace(item, note=", ".join(filter(None, [item.note, *notes])))
                     if notes else item)
    return found


def _workload_noise(path: str) -> bool:
    """An image (shown as such) or an annotation the apply itself manages."""
    return path.endswith(".image") or path.startswith(
        ("metadata.annotations.kubernetes.io/change-cause", "metadata.namespace"))


def predict_others(rendered: Rendered, live: Snapshot, phases: Mapping[tuple[str, str], str],
                   namespace_missing: bool) -> list[ObjectChange]:
    """Compare each rendered object without a pod template with its live self in ``live``
    (a cluster-scoped object with the one read beside the namespace; where those were not
    read, ``unknown``, but for the environment's Namespace when ``namespace_missing``)."""
    planned = []
    cluster_scoped = {key(obj): obj for obj in live.cluster_scoped or ()}
    for obj in rendered.objects:
        if kinds.is_templated(obj):
            continue
        kind, name = key(obj)
        if kind not in guards.CLUSTER_SCOPED_KINDS:
            action, detail = _compare(obj, live.find(kind, name))
        elif live.cluster_scoped is not None:
            action, detail = _compare(obj, cluster_scoped.get((kind, name)))
        else:
            action, detail = ((CREATE, "") if kind == "Namespace" and namespace_missing
                              else (UNKNOWN, "cluster-scoped, not compared"))
        planned.append(ObjectChange(kind, name, action, phases.get((kind, name), DEPLOY), detail))
    return planned


def predict_prunes(rendered: Rendered, live: Snapshot, namespace: str,
                   prune: bool) -> list[ObjectChange]:
    """The members of the namespace's ApplySet in ``live`` that ``rendered`` no longer has:
    to ``delete`` (or ``kept`` when not pruning)."""
    wanted = {key(obj) for obj in rendered.objects}
    return [ObjectChange(obj["kind"], obj["metadata"]["name"], DELETE if prune else KEPT,
                         PRUNE, "no longer rendered")
            for obj in applyset.members(live.objects, namespace) if key(obj) not in wanted]


def _compare(obj: dict, found: dict | None) -> tuple[str, str]:
    secret = obj.get("kind") == "Secret"
    if found is None:
        return CREATE, fielddiff.secret_keys(obj, None) if secret else ""
    paths = [path for path in fielddiff.changed_paths(obj, found)
             if not path.startswith("metadata.namespace")]
    if not paths:
        return SAME, ""
    if secret:
        keys = fielddiff.secret_keys(obj, found)
        others = [path for path in paths if not path.startswith(("data.", "stringData."))]
        return CHANGE, ", ".join(([keys] if keys else []) + few(others))
    return CHANGE, ", ".join(few(paths))


def ordered(planned: Iterable[Planned], rendered: Rendered) -> list[Planned]:
    """``planned`` as it will be applied: by phase, in the overlay's order within one."""
    position = {key(obj): index for index, obj in enumerate(rendered.objects)}
    return sorted(planned, key=lambda item: (
        ORDER.index(item.phase) if item.phase in ORDER else len(ORDER),
        position.get(item.key, 0)))


def kind_counts(rendered: Rendered) -> str:
    """``12 objects: 1 Namespace, 2 Deployment, ...`` in the overlay's order of kinds."""
    counts = Counter(obj.get("kind", "?") for obj in rendered.objects)
    listed = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    return f"{len(rendered.objects)} objects ({listed})"


def replaced(planned: Iterable[PlannedChange]) -> list[WorkloadRef]:
    """The workloads ``planned`` replaces (deleted, then created by the apply)."""
    return [item.ref for item in planned if item.action == REPLACE]


def summarize(planned: Sequence[Planned]) -> str:
    """``1 to change, 0 to create, 1 unchanged`` (``1 to replace`` after the changes when a
    Job is replaced; then the unknown, the objects to delete and those kept)."""
    replacing = sum(p.action == REPLACE for p in planned)
    text = (f"{sum(p.action == CHANGE for p in planned)} to change, "
            + (f"{replacing} to replace, " if replacing else "") +
            f"{sum(p.action == CREATE for p in planned)} to create, "
            f"{sum(p.action == SAME for p in planned)} unchanged")
    for action, label in ((UNKNOWN, "unknown"), (DELETE, "to delete"), (KEPT, "kept")):
        count = sum(p.action == action for p in planned)
        text += f", {count} {label}" if count else ""
    return text


def already_set(requested: Mapping[str, str], plain: Rendered | None) -> list[str]:
    """``NAME=REF`` of each requested image that ``plain`` (the overlay without this run's
    images) sets already: it changes nothing."""
    found = manifests.rendered_images(plain) if plain else set()
    return [f"{name}={ref}" for name, ref in requested.items()
            if {image for image in found if images.selects(name, image)} == {ref}]
