"""One read of an environment's namespace: its workloads, the ConfigMaps and Lease the tool
keeps there, and every other namespaced type the overlay renders, in one kubectl call."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from . import applyset, kinds, kubectl
from .command_result import CommandResult
from .errors import ClusterError
from .guards import CLUSTER_SCOPED_KINDS, is_cluster_scoped
from .kubectl import Target, WorkloadRef
from .manifests import Rendered
from .runner import Runner, Running
from .workload_state import WorkloadState


def read_optional(runner: Runner, target: Target, resource: str, name: str) -> dict | None:
    """One object of the target's namespace as JSON, or None when it does not exist."""
    result = runner.at(target).run(kubectl.get_optional(target, resource, name), idempotent=True)
    if not result.ok:
        raise ClusterError(f"reading {resource}/{name} in {target.namespace} failed: "
                           f"{result.error_line()}")
    return json.loads(result.stdout) if result.stdout.strip() else None


#: Resource types every snapshot reads besides the workloads: the lock's Lease, and the
#: ConfigMaps holding the history records and the known-bad marks.
SNAPSHOT_EXTRAS = ("configmaps", "leases.v1.coordination.k8s.io")


@dataclass(frozen=True)
class Snapshot:
    """One read of an environment's namespace: its workloads, ConfigMaps and Leases, and the
    objects of every other namespaced type the overlay renders."""

    objects: tuple[dict, ...]
    #: The cluster-scoped objects the overlay renders, as read with it (None: not read).
    cluster_scoped: tuple[dict, ...] | None = None

    def find(self, kind: str, name: str) -> dict | None:
        return self._index.get((kind, name))

    @cached_property
    def _index(self) -> dict[tuple[str, str], dict]:
        return kubectl.by_kind_and_name(self.objects)

    def of_kind(self, kind: str) -> list[dict]:
        return [obj for obj in self.objects if obj.get("kind") == kind]

    def states(self, refs: Iterable[WorkloadRef]) -> dict[WorkloadRef, WorkloadState]:
        """The state of each of ``refs`` (absent ones have ``exists=False``)."""
        return {ref: (WorkloadState.from_object(obj) if (obj := self.find(ref.kind, ref.name))
                      else WorkloadState(ref, exists=False)) for ref in refs}


def snapshot_resources(rendered: Rendered | None) -> list[str]:
    """What a snapshot lists: workloads, CronJobs, ConfigMaps, Leases, and the namespaced
    types among the rendered objects."""
    resources = [*kubectl.TEMPLATED_RESOURCES, *SNAPSHOT_EXTRAS]
    for obj in rendered.objects if rendered else ():
        if obj.get("kind") in CLUSTER_SCOPED_KINDS or kinds.is_templated(obj):
            continue
        resource = kubectl.resource_arg(obj)
        if resource not in ("configmap", "lease.v1.coordination.k8s.io", *resources):
            resources.append(resource)
    return resources


def unread_kinds(rendered: Rendered | None, objects: Iterable[dict]) -> list[str]:
    """The resources the namespace's ApplySet parent (among ``objects``) says the set holds
    that `snapshot_resources` does not list: kinds the overlay no longer renders."""
    parent = next((obj for obj in objects if obj.get("kind") == "ConfigMap"
                   and obj["metadata"]["name"] == applyset.PARENT), None)
    read = {*kinds.TEMPLATED, "ConfigMap", "Lease",
            *(obj.get("kind") for obj in (rendered.objects if rendered else ()))}
    return sorted(applyset.resource_of_group_kind(kind) for kind in applyset.parent_kinds(parent)
                  if kind.partition(".")[0] not in read)


def read_snapshot(runner: Runner, target: Target, rendered: Rendered | None) -> Snapshot:
    """The target's namespace as `snapshot_resources` lists it, in one kubectl call (empty
    when the namespace does not exist yet); a second call reads the kinds the ApplySet holds
    that the overlay no longer renders (`unread_kinds`), when there are any. The overlay's
    cluster-scoped objects are read beside it (`_cluster_scoped`)."""
    runner = runner.at(target)
    named = [f"{kubectl.resource_arg(obj)}/{obj['metadata']['name']}"
             for obj in rendered.objects if is_cluster_scoped(obj)] if rendered else []
    beside = None
    if named and not runner.dry_run:
        argv = kubectl.get_optional(target, *named)
        beside = Running(lambda: runner.run(argv, idempotent=True), argv)
    try:
        objects = _namespaced(runner, target, rendered)
    except BaseException:
        if beside is not None:
            beside.cancel()
        raise
    if runner.dry_run:
        return Snapshot(())
    return Snapshot(tuple(objects), _cluster_scoped(beside.join()) if beside else ())


def _namespaced(runner: Runner, target: Target, rendered: Rendered | None) -> list[dict]:
    result = runner.run(kubectl.get_resources(target, snapshot_resources(rendered)),
                        idempotent=True)
    if runner.dry_run:
        return []
    if not result.ok:
        raise ClusterError(f"reading the objects in {target.namespace} failed: "
                           f"{result.error_line()}")
    objects = kubectl.parse_list(result.stdout)
    extra = unread_kinds(rendered, objects)
    if extra:
        more = runner.run(kubectl.get_resources(target, extra), idempotent=True)
        if not more.ok:
            raise ClusterError(f"reading {', '.join(extra)} in {target.namespace} failed: "
                               f"{more.error_line()}")
        objects += kubectl.parse_list(more.stdout)
    return objects


def _cluster_scoped(result: CommandResult) -> tuple[dict, ...] | None:
    """The overlay's cluster-scoped objects as read (None when they could not be read: the
    apply then treats them as of unknown last-applied configuration)."""
    try:
        return tuple(kubectl.parse_list(result.stdout)) if result.ok else None
    except ValueError:
        return None
