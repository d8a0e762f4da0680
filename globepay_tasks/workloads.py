"""Workloads of an environment: render, discover, capture state, wait for rollouts, undo."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from . import images, kubectl, lastapplied, watch
from .command_result import CommandResult
from .errors import ClusterError, ConfigError
from .kubectl import Target, WorkloadRef
from .manifests import Rendered, annotated, with_annotations
from .runner import Runner, Running
from .snapshot import Snapshot
from .workload_state import WorkloadState


def parse_image_overrides(values: Iterable[str]) -> dict[str, str]:
    """``NAME=REF`` pairs from ``--image`` flags, validated."""
    from .validation import check_image_reference

    overrides: dict[str, str] = {}
    for value in values:
        name, sep, ref = value.partition("=")
        if not sep or not name or not ref:
            raise ConfigError(f"--image {value!r} must look like NAME=REFERENCE")
        check_image_reference(ref)
        if images.repository(ref) == ref:
            raise ConfigError(f"--image {value!r} names no tag or digest (give "
                              f"{name}={ref}:TAG or {name}={ref}@sha256:DIGEST)")
        overrides[name] = ref
    return overrides


def _image_entry(repo: str, ref: str) -> dict:
    entry = {"name": repo, "newName": images.repository(ref)}
    if images.tag(ref):  # kept beside a digest: kustomize renders repository:tag@digest
        entry["newTag"] = images.tag(ref)
    if images.digest(ref):
        entry["digest"] = images.digest(ref)
    return entry


def image_entries(overrides: Mapping[str, str], rendered_images: Iterable[str]) -> list[dict]:
    """``overrides`` (image name -> reference) as kustomization ``images:`` entries, one per
    repository of the rendered images it names; a `ConfigError` for a name none has."""
    known = sorted(set(rendered_images))
    entries = []
    for name, ref in overrides.items():
        matches = sorted({images.repository(img) for img in known if images.selects(name, img)})
        if not matches:
            names = ", ".join(sorted({images.short_name(i) for i in known}))
            raise ConfigError(f"--image {name}: the overlay has no such image (it has: {names})")
        entries.extend(_image_entry(repo, ref) for repo in matches)
    return entries


@contextmanager
def kustomization_for(
    overlay: Path, overrides: Mapping[str, str], rendered_images: Iterable[str],
    namespace: str | None = None,
) -> Iterator[str]:
    """The directory to render: the overlay, or a temporary kustomization over it that sets
    ``overrides`` through kustomize's images transformer and ``namespace`` through its
    namespace transformer (the overlay files stay untouched)."""
    if not overrides and not namespace:
        yield str(overlay)
        return
    entries = image_entries(overrides, rendered_images)
    import yaml  # here, not at the top: off the start-up path of every task

    with tempfile.TemporaryDirectory(prefix="globepay-images-") as tmp:
        document = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            **({"namespace": namespace} if namespace else {}),
            "resources": [os.path.relpath(overlay.resolve(), tmp)],
            "images": entries,
        }
        Path(tmp, "kustomization.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        yield tmp


def render(runner: Runner, kubectl_bin: str, directory: str) -> Rendered:
    """``kubectl kustomize DIRECTORY``: a `ConfigError` with kustomize's message on failure."""
    if not Path(directory).is_dir():
        raise ConfigError(f"overlay {directory} does not exist (set the environment's overlay)")
    result = runner.run(kubectl.kustomize(kubectl_bin, directory), local_only=True)
    if result.exit_code == 127:
        raise ConfigError(f"kubectl not found: {kubectl_bin!r} (set globepay.kubectl)")
    if not result.ok:
        raise ConfigError(f"overlay {directory} does not build: {result.error_line()}")
    import yaml

    try:
        objects = tuple(kubectl.parse_manifest(result.stdout))
    except yaml.YAMLError as error:
        raise ConfigError(f"overlay {directory} rendered invalid YAML: {error}") from None
    return Rendered(directory, objects, tuple(kubectl.workloads_in(objects)), directory,
                    result.stdout)


def capture(runner: Runner, target: Target, refs: Sequence[WorkloadRef]) -> dict[
        WorkloadRef, WorkloadState]:
    """The state of ``refs`` now, in one kubectl call (absent ones have ``exists=False``)."""
    runner = runner.at(target)
    result = runner.run(kubectl.get_workloads(target), idempotent=True)
    if runner.dry_run:
        return {ref: WorkloadState(ref, exists=False) for ref in refs}
    if not result.ok:
        raise ClusterError(f"reading workloads in {target.namespace} failed: "
                           f"{result.error_line()}")
    found = {}
    for obj in kubectl.parse_list(result.stdout):
        state = WorkloadState.from_object(obj)
        found[state.ref] = state
    return {ref: found.get(ref, WorkloadState(ref, exists=False)) for ref in refs}


@dataclass(frozen=True)
class WaitOutcome:
    ref: WorkloadRef
    ok: bool
    message: str
    seconds: float
    #: the workload as last seen while waiting (None when it was never seen)
    last: dict | None = None
    #: no event decided it: the wait ran out, or the watch failed (`watch.Verdict`)
    undecided: bool = False


def wait_all(
    runner: Runner,
    target: Target,
    refs: Sequence[WorkloadRef],
    timeout: float,
    on_status: watch.OnStatus | None = None,
) -> list[WaitOutcome]:
    """Wait for every workload at once, all within ``timeout`` seconds.

    Deployments, StatefulSets and DaemonSets by ``kubectl rollout status``'s rules (its
    messages, its progress-deadline failure); Jobs until their Complete or Failed condition.
    One ``kubectl get --watch`` per kind present (`globepay_tasks.watch`), whatever the number
    of workloads. The first failure stops the remaining waits. A watch cut short by a
    transient error (a dropped connection, a 5xx) resumes with the time left.
    """
    verdicts = watch.wait_for(runner.at(target), target, refs, timeout, on_status)
    outcomes = []
    for ref in refs:
        verdict = verdicts[ref]
        if verdict.status.failed:
            message = verdict.status.error
        else:
            message = "rolled out" if ref.can_roll_back else "complete"
        outcomes.append(WaitOutcome(ref, not verdict.status.failed, message, verdict.seconds,
                                    verdict.last, verdict.undecided))
    return outcomes


def undo(
    runner: Runner, target: Target, ref: WorkloadRef, to_revision: int | None
) -> CommandResult:
    """``kubectl rollout undo`` for one workload (retried when it names a revision: undoing
    to a given revision twice is harmless, undoing to "the previous one" twice is not)."""
    return runner.at(target).run(kubectl.rollout_undo(target, ref, to_revision),
                                 idempotent=to_revision is not None)


def apply(runner: Runner, target: Target, rendered: Rendered, known: Snapshot,
          annotations: Mapping[WorkloadRef, Mapping[str, str]] | None = None,
          first: Sequence[dict] = (), recreated: Collection[WorkloadRef] = ()
          ) -> tuple[CommandResult, list[dict]]:
    """``kubectl apply -f`` the manifest the preflight rendered and checked (on a remote
    target, uploaded to a private temporary directory on the host): exactly that is applied,
    and kustomize does not run a second time inside kubectl. ``annotations`` are added to
    the named workloads' metadata; ``first`` are applied before the rendered objects. Applied
    server-side, each object with its last-applied annotation, after a client-side apply of
    those `lastapplied.split` names from the namespace as read before (``known``; the
    ``recreated`` workloads, deleted since, are not in it); an object that read holds already
    is not sent. With the result, the objects as the server stored them (none when the
    server refused any)."""
    objects = [*first, *(with_annotations(obj, annotations or {}) for obj in rendered.objects)]
    split = _split(objects, known, recreated)
    if split is None:  # a value JSON cannot hold (a YAML timestamp): as rendered
        manifest = "".join(json.dumps(obj) + "\n---\n" for obj in first) + annotated(
            rendered, annotations or {})
        return _applied(_with_file(runner, target, manifest, kubectl.apply_file_json), runner)
    stored: list[dict] = [] if runner.dry_run else list(split.kept)
    result = CommandResult("", 0)
    for part, argv in ((split.client, kubectl.apply_file_json),
                       (split.server, kubectl.apply_server_side_json)):
        if part:
            result, written = _applied(with_objects(runner, target, part, argv), runner)
            if not result.ok:
                return result, []
            stored += written
    return result, stored


def _split(objects: Sequence[dict], known: Snapshot,
           recreated: Collection[WorkloadRef] = ()) -> lastapplied.Split | None:
    """`lastapplied.split` of ``objects`` against ``known`` (the ``recreated`` workloads left
    out of it); None when an object holds a value JSON cannot (it is applied as rendered)."""
    live = [obj for obj in known.objects
            if WorkloadRef(obj.get("kind", ""), obj["metadata"]["name"]) not in recreated]
    try:
        return lastapplied.split(objects, live, known.cluster_scoped)
    except (TypeError, ValueError):
        return None


def _applied(result: CommandResult, runner: Runner) -> tuple[CommandResult, list[dict]]:
    objects = []
    if result.ok and not runner.dry_run:
        with suppress(ValueError):
            objects = kubectl.parse_list(result.stdout)
    return result, objects


def dry_run(runner: Runner, target: Target, rendered: Rendered, known: Snapshot | None = None
            ) -> tuple[CommandResult, Sequence[dict]]:
    """``kubectl apply --dry-run=server`` of the rendered objects as `apply` would send them:
    the target's server checks every object and stores nothing. With the namespace as read
    before (``known``), an object it holds already (`lastapplied.split`) is not sent. With
    the result, the objects sent, in order."""
    split = _split(rendered.objects, known) if known is not None else None
    if split is None:
        return (_with_file(runner, target, rendered.manifest, kubectl.apply_dry_run),
                rendered.objects)
    sent = [*split.client, *split.server]
    if not sent:
        return CommandResult("", 0), sent
    return with_objects(runner, target, sent, kubectl.apply_dry_run), sent


def apply_objects(runner: Runner, target: Target, objects: Sequence[dict]) -> CommandResult:
    """``kubectl apply -f`` of ``objects`` (a List) where the target's kubectl runs; kubectl
    prints a line for each object it wrote and goes on past one the server refused."""
    return with_objects(runner, target, objects, kubectl.apply_file)


def with_objects(runner: Runner, target: Target, objects: Sequence[dict],
                 with_file: Callable[[Target, str], list[str]]) -> CommandResult:
    """``with_file(target, PATH)`` (``kubectl apply|replace|create -f PATH``, ...) of
    ``objects`` as a List, where the target's kubectl runs."""
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    return _with_file(runner, target, manifest, with_file)


def delete_all(runner: Runner, target: Target, objects: Sequence[dict],
               timeout: float) -> CommandResult:
    """Delete ``objects`` (their dependents in the background) and wait until they are gone,
    at most ``timeout`` seconds: ``kubectl delete -f`` of them all (`kubectl.delete_file`),
    one read of their types, and for what is still there (a finalizer holds it) ``kubectl
    delete --wait``. The result of the last call made."""
    identities = [{"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                   "metadata": {key: value for key, value in obj["metadata"].items()
                                if key in ("name", "namespace")}} for obj in objects]
    outcome = with_objects(runner, target, identities, kubectl.delete_file)
    if not outcome.ok or runner.dry_run:
        return outcome
    resources = sorted({kubectl.resource_arg(obj) for obj in objects})
    read = runner.at(target).run(kubectl.get_resources(target, resources), idempotent=True)
    if not read.ok:
        return read
    present = {(obj.get("kind"), obj["metadata"].get("name"))
               for obj in kubectl.parse_list(read.stdout)}
    left = [f"{kubectl.resource_arg(obj)}/{obj['metadata']['name']}" for obj in objects
            if (obj["kind"], obj["metadata"]["name"]) in present]
    if not left:
        return outcome
    return runner.at(target).run(kubectl.delete_objects(target, left, timeout),
                                 idempotent=True)


def diff(runner: Runner, target: Target, rendered: Rendered) -> CommandResult:
    """``kubectl diff`` of the rendered overlay against the target (as `apply` sends it)."""
    return _with_file(runner, target, rendered.manifest, kubectl.diff_file)


def _with_file(runner: Runner, target: Target, manifest: str,
               with_file: Callable[[Target, str], list[str]]) -> CommandResult:
    """``with_file(target, PATH)`` run where the target's kubectl runs, PATH holding
    ``manifest`` (a private temporary file, removed afterwards)."""
    from .remote import staged

    runner = runner.at(target)
    with staged(runner, "manifest.yaml", manifest) as path:
        return runner.run(with_file(target, path), idempotent=True)


#: Workloads per ``kubectl rollout undo`` call: each takes four requests, and kubectl holds
#: back requests beyond a burst of ten (client-side throttling, five per second after that).
UNDO_CHUNK = 2
#: ``kubectl rollout undo`` calls running at once.
UNDO_PARALLEL = 4


def undo_all(
    runner: Runner, target: Target, refs: Sequence[WorkloadRef], to_revision: int | None
) -> dict[WorkloadRef, tuple[bool, str]]:
    """``kubectl rollout undo`` for many workloads: a few per kubectl call, a few calls at
    once, so that neither kubectl's throttling nor a process per workload makes it slow.

    Per workload: whether kubectl rolled it back (or found it already at that revision), and
    kubectl's line about it (its error when it was not rolled back).
    """
    runner = runner.at(target)
    chunks = [list(refs[i:i + UNDO_CHUNK]) for i in range(0, len(refs), UNDO_CHUNK)]
    running: list[tuple[list[WorkloadRef], Running]] = []
    outcome: dict[WorkloadRef, tuple[bool, str]] = {}
    while chunks or running:
        while chunks and len(running) < UNDO_PARALLEL:
            chunk = chunks.pop(0)
            argv = kubectl.rollout_undo(target, chunk, to_revision)
            running.append((chunk, Running(  # retried when it names a revision, as `undo`
                lambda argv=argv: runner.run(argv, idempotent=to_revision is not None), argv)))
        finished = next(((c, r) for c, r in running if r.done()), None)
        if finished is None:
            running[0][1].wait(0.01)
            continue
        running.remove(finished)
        chunk, result = finished[0], finished[1].join()
        for ref in chunk:
            outcome[ref] = _undo_outcome(runner.dry_run, result, ref)
    return outcome


def _undo_outcome(dry_run: bool, result: CommandResult, ref: WorkloadRef) -> tuple[bool, str]:
    if dry_run:
        return True, "rolled back"
    for line in result.stdout.splitlines():
        if kubectl.names_object(line.strip(), ref):
            return True, line.strip()
    for line in result.stderr.splitlines():
        if not line.startswith("Warning:") and (
                f'"{ref.name}"' in line or f"/{ref.name} " in line):
            return False, line.strip()
    return False, result.error_line()
