"""Before anything is touched: render every environment, check where it would write and on
which cluster, read each namespace once, and refuse images marked bad."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import (
    apply_errors,
    applyset,
    artifacts,
    badimages,
    guards,
    kubectl,
    manifests,
    overlay_render,
    phases,
    schemas,
    workloads,
)
from ..errors import ClusterError, ConfigError
from ..kustomize_images import Unsupported
from ..manifests import Rendered
from ..settings import Environment
from ..snapshot import Snapshot, read_snapshot
from . import plan

if TYPE_CHECKING:
    from . import Promoter


#: The dry run is a server-side apply (`kubectl.apply_dry_run`, conflicts forced): its
#: refusal of an object it cannot type names the object again (left out); an unknown field
#: is said as a client-side apply's strict field validation says it.
_TYPED_PATCH = re.compile(r"failed to create typed patch object \([^)]*\): ")
_UNDECLARED = re.compile(r"^\.([^:\s]+): field not declared in schema")


def server_message(message: str) -> str:
    """The server's refusal of an object in a server-side dry run, as said to a person."""
    return _UNDECLARED.sub(r'unknown field "\1"', _TYPED_PATCH.sub("", message))


def needs_confirmation(envs: Iterable[Environment], yes: bool) -> list[Environment]:
    """The environments that must be confirmed before this run changes them."""
    return [] if yes else [env for env in envs if env.confirm]


def check_namespaces(env: Environment, rendered: Rendered) -> None:
    """Refuse an overlay that would write outside the environment's namespace."""
    for obj in rendered.objects:
        kind, meta = obj.get("kind", "?"), obj.get("metadata") or {}
        if kind == "Namespace":
            if meta.get("name") != env.namespace:
                raise ConfigError(
                    f"{env.name}: overlay {env.overlay} creates Namespace {meta.get('name')!r}, "
                    f"but the environment's namespace is {env.namespace!r}"
                )
            continue
        namespace = meta.get("namespace")
        if namespace and namespace != env.namespace:
            raise ConfigError(
                f"{env.name}: overlay {env.overlay} renders {kind}/{meta.get('name')} into "
                f"namespace {namespace!r}, not {env.namespace!r}; nothing was applied"
            )


def render(p: Promoter, env: Environment, overrides: Mapping[str, str] | None = None, *,
           carried: bool = False) -> Rendered:
    """Render one environment with ``overrides`` (default: this run's ``--image``) and check
    where it would write. ``carried``: overrides naming an image the overlay does not have,
    or one the environment keeps (``keep_images``), are left out. With --namespace the
    overlay is rendered into the environment's namespace."""
    overlay = Path(env.overlay)
    if not overlay.is_absolute():
        overlay = p.project_root / overlay
    plain = p.overlays.get(str(overlay))
    if plain is None:
        plain = p.overlays[str(overlay)] = overlay_render.render(
            p.runner, p.settings.kubectl, overlay)
    available = manifests.rendered_images(plain.rendered)
    overrides = dict(p.images if overrides is None else overrides)
    if carried:
        overrides = artifacts.applicable(overrides, available, env.keep_images)
    p.requested[env.name] = overrides
    rendered = plain.rendered
    namespace = env.namespace if env.override_namespace else None
    if overrides or namespace:
        rendered = with_overrides(p, plain, available, overrides, namespace)
    check_namespaces(env, rendered)
    rendered = applyset.labelled(rendered, env.namespace)
    phases.assign(rendered.objects)  # a phase annotation that names no phase is refused
    guards.check_cluster_scoped(env, rendered.objects, p.settings.allow_cluster_scoped)
    if not rendered.workloads:
        raise ConfigError(f"{env.name}: overlay {env.overlay} renders no workloads")
    return rendered


def with_overrides(p: Promoter, plain: overlay_render.Overlay, available: set[str],
                   overrides: Mapping[str, str], namespace: str | None) -> Rendered:
    """The overlay (``available``: its images) with ``overrides`` set by an images
    transformer over it (in Python where that is kustomize's result) and rendered into
    ``namespace`` (by kustomize)."""
    overlay = Path(plain.rendered.overlay)
    if plain.images_in_python and not namespace:
        with suppress(Unsupported):
            return overlay_render.with_images(
                plain, workloads.image_entries(overrides, available))
    directory = p.stack.enter_context(workloads.kustomization_for(
        overlay, overrides, available, namespace))
    return replace(workloads.render(p.runner, p.settings.kubectl, directory),
                   overlay=str(overlay))


def preflight(p: Promoter, envs: Sequence[Environment], *, carry: bool = False,
              targets: bool = True, read: bool = False) -> dict[str, Rendered]:
    """Render every environment (all at once; and, with ``targets``, check where each would
    be deployed, that an env outside ``order`` is not gated on a previous one it does not
    have, and that its cluster accepts every object: `check_on_server`) before any is
    touched; the first failure, in order, stops all. ``carry``: the environments after the
    first will receive the images of the one before them (rendered here with this run's
    images where they apply). ``read``: each env's `snapshot` is read as soon as it passed
    its checks."""

    def prepare(index: int, env: Environment) -> Rendered:
        rendered = render(p, env, carried=carry and index > 0)
        if targets:
            guards.check_order(p.settings, env)
            p.guard.check(env)
        for part in env.clusters():
            if read:
                try:
                    snapshot(p, part, rendered)
                except ClusterError as error:  # an unknown kind: the dry run names its object
                    if targets and "doesn't have a resource type" in error.message:
                        check_on_server(p, part, rendered)
                    raise
            if targets:
                check_on_server(p, part, rendered)
        return rendered

    with ThreadPoolExecutor(max_workers=len(envs) + 1) as pool:
        if targets:  # the kubeconfigs are read while the overlays render
            pool.submit(p.guard.preload, envs)
        futures = [pool.submit(prepare, index, env) for index, env in enumerate(envs)]
    rendered = {}
    for env, future in zip(envs, futures, strict=True):
        try:
            rendered[env.name] = future.result()
        except ConfigError as error:
            message = error.message
            if not message.startswith(f"{env.name}:"):
                message = f"{env.name}: {message}"
            raise ConfigError(f"preflight failed, nothing was changed: {message}") from None
        names = ", ".join(str(ref) for ref in rendered[env.name].workloads)
        p.progress.step(env.name, "preflight", f"renders {names}")
    return rendered


def check_on_server(p: Promoter, env: Environment, rendered: Rendered) -> None:
    """The env's cluster checks every rendered object as a real apply would, storing
    nothing (``kubectl apply --dry-run=server``); a `ConfigError` naming each object it
    rejects and why. Where the env's namespace does not exist yet (a first deploy) the
    server cannot check the objects in it: they are checked against the Kubernetes schemas
    instead (`globepay_tasks.schemas`), with a line saying so. A Job the deploy will replace
    is left out (`without_replaced`)."""
    rendered = without_replaced(p, env, rendered)
    outcome, sent = workloads.dry_run(p.runner.reader, p.target(env), rendered,
                                      p.snapshots.get(env.name))
    if outcome.ok:
        return
    if outcome.transient:
        raise ClusterError(f"{env.name}: checking the objects in {env.namespace} failed: "
                           f"{outcome.error_line()}")
    refused = [(what, server_message(message)) for what, message
               in apply_errors.rejected(sent, outcome.stdout, outcome.stderr)]
    missing = f'namespaces "{env.namespace}" not found'
    if any(message.endswith(missing) for _, message in refused):
        p.new_namespaces.add(env.name)
        refused = [(what, message) for what, message in refused if not message.endswith(missing)]
        refused += _check_new_namespace(p, env, rendered, {what for what, _ in refused})
    elif not refused:
        raise ConfigError(f"{env.name}: the server's dry run failed: {outcome.error_line()}")
    _refuse(p, env, refused)


def without_replaced(p: Promoter, env: Environment, rendered: Rendered) -> Rendered:
    """``rendered`` without the Jobs whose pod template changes: the server would refuse
    them (a Job's template is immutable), and the deploy deletes them and creates them again.
    A dry-run delete stores nothing, so a dry-run create after it would still find the Job:
    those Jobs are not checked by the server. The Jobs' state is the env's `snapshot` when
    the preflight read it, else one read of the workloads (none without a Job)."""
    jobs = [ref for ref in rendered.workloads if ref.rules.replaced_on_change]
    if not jobs:
        return rendered
    known = p.snapshots.get(env.name)
    states = (known.states(jobs) if known
              else workloads.capture(p.runner.reader, p.target(env), jobs))
    leaving = set(plan.replaced(plan.predict(rendered, states)))
    if not leaving:
        return rendered
    p.progress.step(env.name, "dry run", f"{', '.join(map(str, sorted(leaving, key=str)))}: "
                    "changed, to be replaced (deleted, then created): not checked by the server")
    return manifests.subset(rendered, lambda obj: kubectl.WorkloadRef(*phases.key(obj))
                            not in leaving)


def _check_new_namespace(p: Promoter, env: Environment, rendered: Rendered,
                         refused: set[str]) -> list[tuple[str, str]]:
    """The objects of a namespace that does not exist yet (other than ``refused`` ones)
    against the schemas of the server's Kubernetes version; without the schemas installed,
    a line saying they were not checked."""
    said = p.runner.reader.at(p.target(env)).run(kubectl.version(p.target(env)),
                                                 idempotent=True)
    try:
        version = schemas.schema_version(kubectl.server_version(said.stdout))
    except schemas.SchemasMissing as missing:
        p.progress.step(env.name, "dry run", f"namespace {env.namespace} does not exist yet: "
                        f"its objects were not checked ({missing.message})", "warn")
        return []
    p.progress.step(env.name, "dry run", f"namespace {env.namespace} does not exist yet: its "
                    f"objects checked against the Kubernetes {version} schemas instead", "warn")
    namespaced = (o for o in rendered.objects if (o.get("metadata") or {}).get("namespace"))
    return [(what, message) for what, message in schemas.problems(namespaced, version)
            if what not in refused]


def check_offline(p: Promoter, env: Environment, rendered: Rendered) -> None:
    """Every rendered object of ``env`` against the Kubernetes schemas, no cluster asked; a
    `ConfigError` naming each object they reject and why."""
    _refuse(p, env, schemas.problems(rendered.objects))
    p.progress.step(env.name, "schemas", f"{len(rendered.objects)} objects valid for "
                    f"Kubernetes {schemas.DEFAULT_VERSION}", "ok")


def _refuse(p: Promoter, env: Environment, refused: list[tuple[str, str]]) -> None:
    """Each refused object as a line, then a `ConfigError` naming the first (none: return)."""
    if not refused:
        return
    for what, message in refused:
        p.progress.step(env.name, "dry run", f"{what}: {message}", "fail")
    more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
    what, message = refused[0]
    raise ConfigError(f"{env.name}: {what} would be rejected: {message}{more}")


def snapshot(p: Promoter, env: Environment, rendered: Rendered | None) -> Snapshot:
    """The env's namespace as read once (`read_snapshot`): kept from the
    preflight's check until the env's deploy takes it (`take_snapshot`)."""
    if env.name not in p.snapshots:
        p.snapshots[env.name] = read_snapshot(p.runner.reader, p.target(env), rendered)
    return p.snapshots[env.name]


def take_snapshot(p: Promoter, env: Environment, rendered: Rendered) -> Snapshot:
    """The snapshot read for ``env`` (read now if there is none); the next call reads the
    namespace again."""
    known = snapshot(p, env, rendered)
    del p.snapshots[env.name]
    return known


def check_bad(p: Promoter, env: Environment, rendered: Rendered, *, announce: bool = True,
              known: Snapshot | None = None) -> list[str]:
    """Refuse images marked bad in ``env`` (as ``known``, or the env's `snapshot`, has them:
    `ConfigError`), unless ``allow_bad``: then the allowed references."""
    known = known or snapshot(p, env, rendered)
    marks = badimages.marks_in(known.find("ConfigMap", badimages.CONFIGMAP))
    hits = badimages.refused(marks, manifests.rendered_images(rendered))
    if hits and not p.allow_bad:
        raise badimages.refusal(env.name, hits)
    for _, mark in hits if announce else ():
        p.progress.step(env.name, "allowed", f"--allow-bad: {mark.describe()}", "warn")
    return [ref for ref, _ in hits]
