"""What an environment runs: image references read from its live workloads and pods,
digest-pinned where the pods report one, checked against what a promotion intended, and
carried to the next environment."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from . import images, kinds, kubectl
from .errors import ClusterError, ConfigError
from .kubectl import Target, WorkloadRef
from .runner import Runner

Intended = Mapping[WorkloadRef, Mapping[str, str]]


@dataclass(frozen=True)
class RunningImage:
    """One container of one workload: its spec image and the digest its pods report."""

    workload: WorkloadRef
    container: str
    image: str
    digest: str = ""

    @property
    def pinned(self) -> str:
        """``repository@sha256:...`` when a digest is known, else the spec image."""
        return images.pinned(self.image, self.digest or images.digest(self.image))


def intended_images(objects: Iterable[dict]) -> dict[WorkloadRef, dict[str, str]]:
    """Workload (or CronJob) -> container -> image of rendered objects."""
    return {WorkloadRef(obj["kind"], obj["metadata"]["name"]): kinds.images_of(obj)
            for obj in objects if kinds.is_templated(obj)}


def would_run(objects: Iterable[dict]) -> list[RunningImage]:
    """What the workloads of rendered ``objects`` would run (a dry run's stand-in for what an
    environment runs: tags where no digest is rendered)."""
    return [RunningImage(ref, container, image)
            for ref, found in intended_images(objects).items() if ref.rules.awaited
            for container, image in found.items()]


def _selected(workload: dict, pod: dict) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def _alive(pod: dict) -> bool:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    return not meta.get("deletionTimestamp") and status.get("phase") not in ("Succeeded",
                                                                             "Failed")


def _containers(pod: dict) -> dict[str, tuple[str, str]]:
    """Container name -> (spec image, digest of the reported imageID)."""
    specs = {c.get("name"): c.get("image", "")
             for c in (pod.get("spec") or {}).get("containers") or []}
    ids = {c.get("name"): images.digest_of_image_id(c.get("imageID") or "")
           for c in (pod.get("status") or {}).get("containerStatuses") or []}
    return {name: (image, ids.get(name, "")) for name, image in specs.items()}


@dataclass(frozen=True)
class Live:
    """The workloads (CronJobs too) and pods of one namespace, read at one moment. A
    CronJob has no pods until it fires: only its spec is compared."""

    workloads: tuple[dict, ...]
    pods: tuple[dict, ...]

    def _workload(self, ref: WorkloadRef) -> dict | None:
        return self._workloads.get((ref.kind, ref.name))

    @cached_property
    def _workloads(self) -> dict[tuple[str, str], dict]:
        return kubectl.by_kind_and_name(self.workloads)

    def _pods(self, workload: dict) -> list[dict]:
        wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if workload.get("kind") not in kinds.ROLLOUT_KINDS or not wanted:
            return []
        label = next(iter(wanted.items()))  # the pods with one of its labels, then all
        return [pod for pod in self._labelled.get(label, ())
                if _alive(pod) and _selected(workload, pod)]

    @cached_property
    def _labelled(self) -> dict[tuple[str, str], list[dict]]:
        """The pods by each of their labels (key, value), in the order read."""
        found: dict[tuple[str, str], list[dict]] = {}
        for pod in self.pods:
            for label in ((pod.get("metadata") or {}).get("labels") or {}).items():
                found.setdefault(label, []).append(pod)
        return found

    def running(self) -> list[RunningImage]:
        """Every container of every Deployment, StatefulSet and DaemonSet; the digest is set
        when all of its pods running the spec image report the same one."""
        found = []
        for obj in self.workloads:
            if obj.get("kind") not in kinds.ROLLOUT_KINDS:
                continue
            ref = WorkloadRef(obj["kind"], obj["metadata"]["name"])
            pods = [_containers(pod) for pod in self._pods(obj)]
            for container, image in kinds.images_of(obj).items():
                digests = {pod[container][1] for pod in pods
                           if container in pod and pod[container][0] == image}
                digest = digests.pop() if len(digests) == 1 else ""
                found.append(RunningImage(ref, container, image, digest))
        return found

    def unhealthy(self) -> list[str]:
        """What is wrong with each workload that is not healthy (`kinds` rules) or, for a
        Deployment, StatefulSet or DaemonSet, whose rollout is not complete as ``kubectl
        rollout status`` sees it: ``deployment/backend: 1 old replicas pending termination``."""
        found = []
        for obj in self.workloads:
            if not kinds.is_workload(obj):
                continue
            rules = kinds.of(obj["kind"])
            healthy, text = rules.health(obj)
            rollout = rules.rollout(obj) if obj["kind"] in kinds.ROLLOUT_KINDS else None
            if rollout and (rollout.failed or not rollout.done):
                healthy, text = False, (f"{rules.resource}/{obj['metadata']['name']}: "
                                        f"{rollout.error or rollout.readiness}")
            if not healthy:
                found.append(text)
        return found

    def mismatches(self, intended: Intended) -> list[str]:
        """How the live workloads and their pods differ from ``intended`` (empty: they match):
        the spec image of each container, and each pod's image and reported digest."""
        problems = []
        for ref, containers in intended.items():
            obj = self._workload(ref)
            if obj is None:
                problems.append(f"{ref} not found")
                continue
            live = kinds.images_of(obj)
            for container, want in containers.items():
                if live.get(container) != want:
                    problems.append(f"{ref} container {container} is set to "
                                    f"{live.get(container) or 'nothing'}, expected {want}")
            for pod in self._pods(obj):
                name = pod["metadata"]["name"]
                for container, (image, digest) in _containers(pod).items():
                    want = containers.get(container)
                    if want is None:
                        continue
                    if image != want:
                        problems.append(f"pod {name} ({ref}) runs {image}, expected {want}")
                    elif digest and images.digest(want) and digest != images.digest(want):
                        problems.append(f"pod {name} ({ref}) runs digest {digest}, "
                                        f"expected {images.digest(want)}")
        return problems


def read_live(runner: Runner, target: Target) -> Live:
    """Workloads, CronJobs and pods of the target's namespace, in one kubectl call."""
    result = runner.at(target).run(kubectl.get_live(target), idempotent=True)
    if not result.ok:
        raise ClusterError(f"reading {target.namespace} failed: {result.error_line()}")
    objects = kubectl.parse_list(result.stdout)
    return Live(tuple(o for o in objects if kinds.is_templated(o)),
                tuple(o for o in objects if o.get("kind") == "Pod"))


def offered(running: Iterable[RunningImage]) -> dict[str, str]:
    """Image name -> the digest-pinned reference an environment runs for it."""
    refs: dict[str, set[str]] = {}
    for item in running:
        refs.setdefault(images.short_name(item.image), set()).add(item.pinned)
    for name, found in sorted(refs.items()):
        if len(found) > 1:
            raise ConfigError(f"cannot promote image {name}: the source runs {len(found)} "
                          f"different references ({', '.join(sorted(found))})")
    return {name: found.pop() for name, found in sorted(refs.items())}


def applicable(overrides: Mapping[str, str], available: Collection[str],
               keep: Collection[str]) -> dict[str, str]:
    """The ``overrides`` an overlay rendering ``available`` images takes: those naming one
    of its images and not one it keeps as its own (``keep``)."""
    return {name: ref for name, ref in overrides.items()
            if any(images.selects(name, img) for img in available)
            and not any(images.selected(keep, img) for img in available
                        if images.selects(name, img))}
