"""Putting back the objects a failed run wrote, other than the workloads `failure` undoes:
each object the run changed as the snapshot before it read it (its last-applied
configuration with it), each object it created deleted, each object it pruned created again,
and the undone workloads' last-applied configuration as it was."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import applyset, fielddiff, kubectl, workloads
from ..kinds import REVISION_ANNOTATION
from ..kubectl import Target
from ..manifests import Rendered
from ..snapshot import Snapshot, read_snapshot

if TYPE_CHECKING:
    from ..settings import Environment
    from . import Promoter
    from .result import EnvResult

#: What the server sets: left out of an object written back.
_SERVER_METADATA = ("resourceVersion", "creationTimestamp", "managedFields", "generation",
                    "selfLink")


@dataclass
class Restoration:
    """What putting an environment back takes, besides the workloads' ``rollout undo``."""

    #: objects the run changed, as they were (``kubectl replace``)
    put_back: list[dict] = field(default_factory=list)
    #: workloads undone through ``rollout undo``, as they were (``kubectl replace`` once the
    #: undo rolled out: their labels, annotations and fields outside the pod template)
    after_undo: list[dict] = field(default_factory=list)
    #: objects the run deleted (pruned), as they were (``kubectl create``)
    recreate: list[dict] = field(default_factory=list)
    #: objects the run created (``kubectl delete``)
    remove: list[dict] = field(default_factory=list)
    #: the last-applied configuration the objects put back had (``apply set-last-applied``)
    last_applied: list[dict] = field(default_factory=list)
    #: what cannot be put back, and why
    not_restored: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.put_back or self.recreate or self.remove or self.last_applied)

    def names(self) -> list[str]:
        return [name_of(obj) for obj in (*self.put_back, *self.recreate, *self.remove)]


def name_of(obj: dict) -> str:
    """``configmap/app-config``: an object as the plan and the summary name it."""
    return f"{str(obj.get('kind', '')).lower()}/{obj['metadata']['name']}"


def written_back(obj: dict, *, keep_uid: bool) -> dict:
    """``obj`` as read, to be written again: without status and what the server sets (the
    uid kept for a replace: the object must still be the one read)."""
    meta = {key: value for key, value in (obj.get("metadata") or {}).items()
            if key not in _SERVER_METADATA and (keep_uid or key != "uid")}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _version(obj: dict | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion", "")


def differences(before: Snapshot, now: Snapshot, rendered: Rendered,
                pruned: Iterable[tuple[str, str]] = (),
                replaced: Iterable[tuple[str, str]] = (),
                undone: Iterable[tuple[str, str]] = ()) -> Restoration:
    """What differs between ``before`` and ``now`` among the objects of ``rendered`` (and
    those the run ``pruned``): the workloads ``undone`` through ``rollout undo`` get their
    last-applied configuration back here, every other object the run wrote is put back
    whole; Jobs the run ``replaced`` cannot be."""
    restoration = Restoration()
    replacing, undoing = set(replaced), set(undone)
    keys = [(obj["kind"], obj["metadata"]["name"]) for obj in rendered.objects
            if applyset.is_member(obj)]
    keys += [key for key in pruned if key not in keys]
    for kind, name in keys:
        had, has = before.find(kind, name), now.find(kind, name)
        if (kind, name) in replacing:
            restoration.not_restored.append(
                f"job/{name}: replaced by this run, not restored (what it ran stays done)")
            continue
        if had is None:
            if has is not None:
                restoration.remove.append(has)
            if has is not None and kind == "Job":
                restoration.not_restored.append(
                    f"job/{name}: created by this run and deleted; what it ran stays done")
            continue
        applied = fielddiff.last_applied(had)
        if has is None:
            restoration.recreate.append(written_back(had, keep_uid=False))
        elif _version(had) == _version(has):
            continue
        elif (kind, name) in undoing:
            restoration.after_undo.append(written_back(had, keep_uid=True))
        else:
            restoration.put_back.append(written_back(had, keep_uid=True))
        if applied is not None:  # ``kubectl replace`` and ``create`` write their own
            restoration.last_applied.append(applied)
    return restoration


def read(p: Promoter, target: Target, before: Snapshot, rendered: Rendered,
         pruned: Iterable[tuple[str, str]], replaced: Iterable[tuple[str, str]],
         undone: Iterable[tuple[str, str]]) -> Restoration:
    """The namespace read again (one kubectl call), compared with ``before``."""
    now = read_snapshot(p.runner, target, rendered)
    return differences(before, now, rendered, pruned, replaced, undone)


def put_back(p: Promoter, env: Environment, target: Target, restoration: Restoration,
             result: EnvResult) -> list[str]:
    """Replace the changed objects and create the pruned ones again (one kubectl call each);
    what failed."""
    failed = []
    for objects, verb, build, why in (
            (restoration.put_back, "restore", kubectl.replace_file, ""),
            (restoration.recreate, "re-create", kubectl.create_file, " (pruned by this run)")):
        if not objects:
            continue
        outcome = workloads.with_objects(p.runner, target, objects, build)
        failed += _said(p, env, result, objects, outcome.stdout, verb, why)
        if not outcome.ok:
            failed.append(f"{verb}: {outcome.error_line()}")
    return failed


def remove(p: Promoter, env: Environment, target: Target, restoration: Restoration,
           result: EnvResult, undone: Mapping[tuple[str, str], dict]) -> list[str]:
    """Once the workloads were undone (``undone``: each as last seen when it had rolled
    back): put back what lies outside their pod templates (one kubectl call; the revision
    the undo made is kept), delete what the run created and wait until it is gone
    (`workloads.delete_all`), then set each last-applied configuration back (one more call);
    what failed."""
    failed = []
    workloads_back = []
    for obj in restoration.after_undo:
        last = undone.get((obj["kind"], obj["metadata"]["name"]))
        if last is None:
            continue
        annotations = dict(obj["metadata"].get("annotations") or {})
        revision = (last["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        if revision:
            annotations[REVISION_ANNOTATION] = revision
        workloads_back.append({**obj, "metadata": {**obj["metadata"],
                                                   "annotations": annotations}})
    if workloads_back:
        outcome = workloads.with_objects(p.runner, target, workloads_back, kubectl.replace_file)
        if not outcome.ok:
            failed.append(f"restore: {outcome.error_line()}")
    if restoration.remove:
        outcome = workloads.delete_all(p.runner, target, restoration.remove, env.timeout)
        if outcome.ok:
            for obj in restoration.remove:
                _line(p, env, result, "delete", f"{name_of(obj)} (created by this run)")
        else:
            failed.append(f"deleting what this run created: {outcome.error_line()}")
    if restoration.last_applied:
        outcome = workloads.with_objects(p.runner, target, restoration.last_applied,
                                         kubectl.set_last_applied_file)
        if not outcome.ok:
            failed.append(f"setting the last-applied configuration back: "
                          f"{outcome.error_line()}")
    return failed


def name_unrestorable(p: Promoter, env: Environment, restoration: Restoration,
                      result: EnvResult) -> None:
    """One line for each thing the run did that cannot be put back."""
    for text in restoration.not_restored:
        p.progress.step(env.name, "not restored", text, "warn")
        result.restored.append(f"not restored: {text}")


def _said(p: Promoter, env: Environment, result: EnvResult, objects: list[dict], stdout: str,
          verb: str, why: str) -> list[str]:
    """One line per object kubectl wrote (``configmap/app-config replaced``); the others
    failed."""
    written = set()
    for line in stdout.splitlines():
        resource, _, name = (line.split() or [""])[0].partition("/")
        written.add((resource.split(".")[0], name))
    failed = []
    for obj in objects:
        if (str(obj["kind"]).lower(), obj["metadata"]["name"]) in written:
            _line(p, env, result, verb, f"{name_of(obj)}{why}")
        else:
            failed.append(f"{verb} {name_of(obj)}")
    return failed


def _line(p: Promoter, env: Environment, result: EnvResult, verb: str, text: str) -> None:
    p.progress.step(env.name, verb, text, "ok")
    result.restored.append(f"{verb}: {text}")
