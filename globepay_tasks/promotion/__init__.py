"""Promotion logic: preflight, the chain, hooks as gates, and rollback decisions.

No Invoke imports here: everything runs through a `Runner` and reports through `Progress`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import artifacts, badimages, guards, kinds, kubectl, workloads
from ..artifacts import Live
from ..config import Environment, Settings
from ..errors import (
    ApplyFailed,
    ClusterError,
    ConfigError,
    EnvironmentLocked,
    HookFailed,
    Interrupted,
    PromotionError,
    RollbackFailed,
    RolloutFailed,
    VerificationFailed,
)
from ..hooks import HookContext, HookResult, run_hook
from ..kubectl import Target, WorkloadRef, apply_stdin
from ..lock import EnvLock, LockMoved, NamespaceMissing, duration
from ..lock import unlock as remove_lock
from ..progress import Progress
from ..runner import CommandResult, Runner, clear_interrupt
from ..workloads import Rendered, Snapshot, WorkloadState
from .plan import CHANGE, NEW, UNKNOWN, PlannedChange, predict, summarize

if TYPE_CHECKING:
    from ..audit import Audit, Entry


@dataclass
class WorkloadChange:
    """One workload before and after this run's apply."""

    ref: WorkloadRef
    before: WorkloadState
    after: WorkloadState

    @property
    def created(self) -> bool:
        return not self.before.exists and self.after.exists

    @property
    def changed(self) -> bool:
        return self.created or (self.before.exists and self.before.template != self.after.template)


@dataclass
class EnvResult:
    """What happened to one environment in this run (the summary's and report's row)."""

    env: str
    action: str
    namespace: str = ""
    context: str = ""
    outcome: str = "not started"
    seconds: float = 0.0
    reason: str = ""
    exit_code: int = 0
    changes: list[WorkloadChange] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    hooks: list[HookResult] = field(default_factory=list)
    revisions: dict[str, tuple[str, str]] = field(default_factory=dict)
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    plan: list[PlannedChange] = field(default_factory=list)
    id: str = ""
    source: str = ""
    failure: str = ""
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime()))
    requested: dict[str, str] = field(default_factory=dict)
    running: list[artifacts.RunningImage] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    allowed_bad: list[str] = field(default_factory=list)


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


class Promoter:
    """Deploys environments one at a time and undoes exactly what a failed run changed."""

    def __init__(
        self,
        settings: Settings,
        runner: Runner,
        progress: Progress,
        *,
        project_root: Path,
        rollback_on_failure: bool = True,
        images: Mapping[str, str] | None = None,
        audit: Audit | None = None,
        allow_bad: bool = False,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.progress = progress
        self.project_root = project_root
        self.rollback_on_failure = rollback_on_failure
        self.images = dict(images or {})
        self.audit = audit
        self.allow_bad = allow_bad
        self.results: list[EnvResult] = []
        self.requested: dict[str, dict[str, str]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        #: env name -> the env, its lock taken ahead of its deploy (`hold`), and the snapshot
        #: the lock was taken on
        self._held: dict[str, tuple[Environment, EnvLock | None, Snapshot]] = {}
        #: each overlay as kustomize renders it, without this run's images (rendered once)
        self._plain: dict[str, Rendered] = {}
        self._stack = ExitStack()
        runner.retry = settings.retries
        self.guard = guards.TargetGuard(runner, settings)

    def __enter__(self) -> Promoter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_held()
        self._stack.close()

    def target(self, env: Environment) -> Target:
        return self.settings.target(env)

    # -- preflight -------------------------------------------------------------------------

    def render(self, env: Environment, overrides: Mapping[str, str] | None = None, *,
               carried: bool = False) -> Rendered:
        """Render one environment with ``overrides`` (default: this run's ``--image``) and
        check where it would write. ``carried``: overrides naming an image the overlay does
        not have, or one the environment keeps (``keep_images``), are left out."""
        overlay = Path(env.overlay)
        if not overlay.is_absolute():
            overlay = self.project_root / overlay
        plain = self._plain.get(str(overlay))
        if plain is None:
            plain = self._plain[str(overlay)] = workloads.render(
                self.runner, self.settings.kubectl, str(overlay))
        available = workloads.rendered_images(plain)
        overrides = dict(self.images if overrides is None else overrides)
        if carried:
            overrides = artifacts.applicable(overrides, available, env.keep_images)
        self.requested[env.name] = overrides
        rendered = plain
        if overrides:
            directory = self._stack.enter_context(workloads.kustomization_for(
                overlay, overrides, available))
            with_images = workloads.render(self.runner, self.settings.kubectl, directory)
            rendered = replace(with_images, overlay=str(overlay))
        check_namespaces(env, rendered)
        guards.check_cluster_scoped(env, rendered.objects, self.settings.allow_cluster_scoped)
        if not rendered.workloads:
            raise ConfigError(f"{env.name}: overlay {env.overlay} renders no workloads")
        return rendered

    def check_targets(self, envs: Sequence[Environment]) -> None:
        """Each env's kube contexts exist and point at its configured server."""
        for env in envs:
            self.guard.check(env)

    def preflight(self, envs: Sequence[Environment], *, carry: bool = False,
                  targets: bool = True, read: bool = False) -> dict[str, Rendered]:
        """Render every environment (all at once; and, with ``targets``, check where each would
        be deployed, and that an env outside ``order`` is not gated on a previous one it does
        not have) before any is touched; the first failure, in order, stops all.
        ``carry``: the environments after the first will receive the images of the one
        before them (rendered here with this run's images where they apply). ``read``: each
        env's `snapshot` is read as soon as it passed its checks."""

        def prepare(index: int, env: Environment) -> Rendered:
            rendered = self.render(env, carried=carry and index > 0)
            if targets:
                guards.check_order(self.settings, env)
                self.check_targets([env])
            if read and not self.runner.dry_run:
                for part in env.clusters():
                    self.snapshot(part, rendered)
            return rendered

        with ThreadPoolExecutor(max_workers=len(envs) + 1) as pool:
            if targets:  # the kubeconfigs are read while the overlays render
                pool.submit(self.guard.preload, envs)
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
            self.progress.step(env.name, "preflight", f"renders {names}")
        return rendered

    def snapshot(self, env: Environment, rendered: Rendered | None) -> Snapshot:
        """The env's namespace as read once (`workloads.read_snapshot`): kept from the
        preflight's check until the env's deploy takes it (`_take_snapshot`)."""
        if env.name not in self._snapshots:
            self._snapshots[env.name] = workloads.read_snapshot(self.runner, self.target(env),
                                                                rendered)
        return self._snapshots[env.name]

    def _take_snapshot(self, env: Environment, rendered: Rendered) -> Snapshot:
        """The snapshot read for ``env`` (read now if there is none); the next call reads
        the namespace again."""
        snapshot = self.snapshot(env, rendered)
        del self._snapshots[env.name]
        return snapshot

    def hold(self, envs: Sequence[tuple[Environment, Rendered]]) -> None:
        """Take the locks of all ``envs`` at once, before the first is deployed (a chain holds
        every environment it will change until it is done with it); if any cannot be taken,
        release those taken and raise."""
        if self.runner.dry_run or not self.settings.lock.enabled:
            return

        def take(pair: tuple[Environment, Rendered]) -> None:
            env, rendered = pair
            known = self._take_snapshot(env, rendered)
            try:
                self._held[env.name] = (env, *self._lock(env, self.target(env), rendered, known,
                                                         create_namespace=False))
            except NamespaceMissing:  # a first deploy: the namespace is created in its turn
                self._snapshots[env.name] = known

        with ThreadPoolExecutor(max_workers=max(1, len(envs))) as pool:
            futures = [pool.submit(take, pair) for pair in envs]
        errors = [e for e in (f.exception() for f in futures) if e is not None]
        if errors:
            self.release_held()
            raise errors[0]

    def release_held(self) -> None:
        """Release the locks `hold` took for environments that were not deployed."""
        while self._held:
            _, (env, lock, known) = self._held.popitem()
            self._close(env, self.target(env), None, lock, known, None)

    def check_bad(self, env: Environment, rendered: Rendered, *, announce: bool = True,
                  known: Snapshot | None = None) -> list[str]:
        """Refuse images marked bad in ``env`` (as ``known``, or the env's `snapshot`, has
        them: `ConfigError`), unless ``allow_bad``: then the allowed references."""
        known = known or self.snapshot(env, rendered)
        marks = badimages.marks_in(known.find("ConfigMap", badimages.CONFIGMAP))
        hits = badimages.refused(marks, workloads.rendered_images(rendered))
        if hits and not self.allow_bad:
            raise badimages.refusal(env.name, hits)
        for _, mark in hits if announce else ():
            self.progress.step(env.name, "allowed", f"--allow-bad: {mark.describe()}", "warn")
        return [ref for ref, _ in hits]

    # -- deploy ----------------------------------------------------------------------------

    def deploy(self, env: Environment, rendered: Rendered, *, action: str = "deploy",
               source: str = "") -> EnvResult:
        """Hooks, apply, wait, verify, hooks; on failure undo what changed and raise."""
        started = time.monotonic()
        result = EnvResult(env.name, action, env.namespace, env.context or "", source=source,
                           id=self.audit.id_for(env.name) if self.audit else "",
                           requested=self.requested.get(env.name, {}))
        self.results.append(result)
        target = self.target(env)
        changes: list[WorkloadChange] | None = None
        before: dict[WorkloadRef, WorkloadState] = {}
        lock: EnvLock | None = None
        known = Snapshot(())
        final: Live | None = None
        held = self._held.pop(env.name, None)
        try:
            lock = held[1] if held else None
            known = self._plan(env, target, rendered, result, held[2] if held else None)
            try:
                result.allowed_bad = self.check_bad(env, rendered, known=known)
            except ConfigError as error:
                result.outcome, result.reason, result.exit_code = "refused", error.message, 1
                raise
            self._hooks(env, "pre", result)
            refs = list(rendered.workloads)
            if held is None:
                lock, fresh = self._lock(env, target, rendered, known)
                if fresh is not known:  # read again to take the lock: plan from that read
                    known, result.plan = fresh, predict(rendered, fresh.states(refs))
                    self.progress.step(env.name, "plan", f"read again: {summarize(result.plan)}")
            before = known.states(refs)
            applied, after = self._apply(env, target, rendered, result.plan, known)
            changes = [WorkloadChange(ref, before[ref], after[ref]) for ref in refs]
            result.changes = changes
            if applied is not None:
                self._fail(env, target, result, changes, applied)
            self._describe_changes(env, changes)
            self._wait(env, target, refs, result, changes)
            final = self._verify(env, target, rendered, result, changes)
            self._hooks(env, "post", result, changes)
            self._finish(env, target, result, "succeeded", final)
        except KeyboardInterrupt:
            self._interrupted(env, target, result, rendered.workloads, before, changes)
        except PromotionError as error:
            if not result.reason:
                result.outcome, result.reason, result.exit_code = (
                    "failed", error.message, error.exit_code)
            final = None  # a rollback may have changed what the verification read
            if result.changes and not self.runner.dry_run:
                with suppress(PromotionError):
                    final = self._record_final(target, result)
            raise
        finally:
            result.seconds = time.monotonic() - started
            self._close(env, target, result, lock, known, final)
        return result

    def _plan(self, env: Environment, target: Target, rendered: Rendered,
              result: EnvResult, known: Snapshot | None) -> Snapshot:
        """The env's header: where it goes and what the apply will change, from ``known``
        (None: the env's snapshot, read now unless the preflight read it); that snapshot."""
        host = f", host {target.remote}" if target.remote else ""
        where = (f"{env.name}: context {env.context or '(current)'}{host}, "
                 f"namespace {env.namespace}")
        if self.runner.dry_run:
            self.progress.header(f"{where}, {len(rendered.workloads)} workloads (dry run)")
            return Snapshot(())
        try:
            known = known or self._take_snapshot(env, rendered)
        except ClusterError:
            self.progress.header(where)
            raise
        result.plan = predict(rendered, known.states(rendered.workloads))
        self.progress.header(f"{where}: {summarize(result.plan)}")
        for item in result.plan:
            self.progress.step(env.name, "plan", item.describe())
        return known

    def _interrupted(self, env: Environment, target: Target, result: EnvResult,
                     refs: Sequence[WorkloadRef], before: dict[WorkloadRef, WorkloadState],
                     changes: list[WorkloadChange] | None) -> None:
        """SIGINT/SIGTERM: the commands are stopped; undo what changed, show where each
        workload is, raise `Interrupted` (a second interrupt during the undo: `RollbackFailed`).
        """
        clear_interrupt()
        self.progress.step(env.name, "interrupted", "stopping", "fail")
        try:
            if changes is None and before:
                after = workloads.capture(self.runner, target, list(before))
                changes = [WorkloadChange(ref, before[ref], after[ref]) for ref in before]
            self._fail(env, target, result, changes or [], Interrupted(
                f"{env.name}: interrupted" if before else
                f"{env.name}: interrupted; nothing was changed"))
        except KeyboardInterrupt:
            clear_interrupt()
            message = (f"ROLLBACK INTERRUPTED in {env.name} (namespace {env.namespace}): the "
                       f"environment needs attention: check `invoke status --env {env.name}`")
            result.outcome, result.reason, result.exit_code = "rollback failed", message, 4
            self.progress.step(env.name, "rollback", message, "fail")
            raise RollbackFailed(message) from None
        finally:
            if before and not self.runner.dry_run:
                self._show_states(env, target, refs)

    def _show_states(self, env: Environment, target: Target,
                     refs: Sequence[WorkloadRef]) -> None:
        """One line per workload: revision, ready/desired, images (after an interruption)."""
        clear_interrupt()
        try:
            states = workloads.capture(self.runner, target, list(refs))
        except (PromotionError, KeyboardInterrupt) as error:
            why = error.message if isinstance(error, PromotionError) else "interrupted"
            self.progress.step(env.name, "state", f"could not read the workloads: {why}", "warn")
            return
        for ref, state in states.items():
            text = (f"revision {state.revision or '-'}, {state.progress}, "
                    f"{', '.join(state.images.values())}" if state.exists else "absent")
            self.progress.step(env.name, "state", f"{ref}: {text}")

    # -- the environment's lock --------------------------------------------------------------

    def _lock(self, env: Environment, target: Target, rendered: Rendered | None,
              known: Snapshot, *, create_namespace: bool = True,
              ) -> tuple[EnvLock | None, Snapshot]:
        """Take the env's lock (exit 5 if another run holds it) from the Lease in ``known``;
        the snapshot to go on from (read again when the Lease changed since). On a first
        deploy the namespace does not exist yet: the overlay's Namespace object is applied
        alone first (``create_namespace``; else `NamespaceMissing`)."""
        settings = self.settings.lock
        where = f"lease {env.namespace}/{settings.name}"
        if not settings.enabled:
            return None, known
        if self.runner.dry_run:
            self.progress.step(env.name, "lock", f"would take {where}")
            return None, known
        lock = EnvLock(self.runner.at(target), target, settings.name, env.name,
                       env.timeout + settings.ttl_margin,
                       lambda text: self.progress.step(env.name, "lock", text, "warn"))
        try:
            for attempt in range(1, 4):
                try:
                    self._acquire(env, target, rendered, lock,
                                  known.find("Lease", settings.name), create_namespace)
                    break
                except LockMoved as moved:
                    if attempt == 3:
                        raise EnvironmentLocked(f"{moved.message}; it keeps changing hands, "
                                                "try again") from None
                    known = workloads.read_snapshot(self.runner, target, rendered)
        except BaseException:
            self._close(env, target, None, lock, known, None)  # interrupted once it was taken
            raise
        self.progress.step(env.name, "lock",
                           f"took {where} as {lock.me.who}, TTL {duration(lock.me.ttl)}")
        return lock, known

    def _acquire(self, env: Environment, target: Target, rendered: Rendered | None,
                 lock: EnvLock, lease: dict | None, create_namespace: bool) -> None:
        try:
            lock.acquire(lease)
        except NamespaceMissing:
            if not create_namespace:
                raise
            namespace = next((obj for obj in (rendered.objects if rendered else ())
                              if obj.get("kind") == "Namespace"), None)
            if namespace is None:
                raise ClusterError(f"{env.name}: namespace {env.namespace} does not exist and "
                                   f"overlay {env.overlay} does not create it; nothing was "
                                   "changed") from None
            self.progress.step(env.name, "namespace", f"creating {env.namespace} (first deploy)")
            outcome = self.runner.at(target).run(apply_stdin(target),
                                                 stdin=json.dumps(namespace), idempotent=True)
            if not outcome.ok and "(AlreadyExists)" not in outcome.stderr:  # a parallel run
                raise ClusterError(f"{env.name}: creating namespace {env.namespace} failed: "
                                   f"{outcome.error_line()}") from None
            lock.acquire(None)

    def _close(self, env: Environment, target: Target, result: EnvResult | None,
               lock: EnvLock | None, known: Snapshot, final: Live | None) -> None:
        """Write the history record of a run that reached the cluster's workloads (not of a
        dry run, a refusal or a pre-promotion hook that stopped it) and release the lock, in
        one ``kubectl apply``; ``result.id`` stays set only when the record was written."""
        clear_interrupt()
        entry = self._entry(env, target, result, known, final) if result else None
        objects = entry.objects if entry else []
        released = lock.stop() if lock else None
        if released is not None:
            objects = [released, *objects]
        if not objects:
            return
        try:
            applied = workloads.apply_objects(self.runner, target, objects)
        except PromotionError as error:
            applied = CommandResult("kubectl apply", 1, stderr=error.message)
        except KeyboardInterrupt:
            applied = CommandResult("kubectl apply", 130, stderr="interrupted")
        if lock is not None and released is not None and lock.released(applied):
            self.progress.step(env.name, "lock", f"released {lock.where}")
        if entry is None or result is None:
            return
        written = applied.stdout + " "
        if not all(f"configmap/{obj['metadata']['name']} " in written for obj in entry.objects):
            result.id = ""
            self.progress.step(env.name, "history", f"not recorded: {applied.error_line()}",
                               "warn")
            return
        for step, text, status in entry.said:
            self.progress.step(env.name, step, text, status)
        try:
            entry.prune()
        except PromotionError as error:
            self.progress.step(env.name, "history", error.message, "warn")

    def _entry(self, env: Environment, target: Target, result: EnvResult, known: Snapshot,
               final: Live | None) -> Entry | None:
        """The history record of ``result``, or None (and no id) when there is none."""
        if self.audit is None or self.runner.dry_run or not result.changes:
            result.id = ""
            return None
        try:
            final = final or artifacts.read_live(self.runner, target)
            return self.audit.entry(env, target, result, final.workloads, known)
        except PromotionError as error:
            result.id = ""
            self.progress.step(env.name, "history", f"not recorded: {error.message}", "warn")
            return None

    def _apply(self, env: Environment, target: Target, rendered: Rendered,
               plan: Sequence[PlannedChange], known: Snapshot,
               ) -> tuple[ApplyFailed | None, dict[WorkloadRef, WorkloadState]]:
        """Apply the rendered overlay, each workload the plan changes carrying this run's
        change-cause (its new revision shows it in ``kubectl rollout history``); each
        workload's state after it, and the error to fail with (after undoing) if the server
        refused."""
        where = f" on {target.remote}" if target.remote else ""
        self.progress.step(env.name, "apply",
                           f"kubectl apply -f, rendered from {rendered.overlay}{where}")
        outcome, objects = workloads.apply(self.runner, target, rendered,
                                           self._causes(env, plan, known))
        refs = list(rendered.workloads)
        if outcome.ok and (objects or self.runner.dry_run):
            for line in applied_lines(objects, known):
                self.progress.output(env.name, "apply", line)
            return None, Snapshot(tuple(objects)).states(refs)
        after = workloads.capture(self.runner, target, refs)
        if outcome.ok:
            return None, after
        self.progress.step(env.name, "apply failed", outcome.error_line(), "fail")
        return ApplyFailed(f"{env.name}: apply failed: {outcome.error_line()}"), after

    def _causes(self, env: Environment, plan: Sequence[PlannedChange],
                known: Snapshot) -> dict[WorkloadRef, dict[str, str]]:
        """The change-cause of each workload the plan changes; the one it has for the others
        (so that the apply leaves it as it is)."""
        causes: dict[WorkloadRef, dict[str, str]] = {}
        for item in plan if self.audit else ():
            if not item.ref.can_roll_back:
                continue
            if item.action in (CHANGE, NEW, UNKNOWN):
                causes[item.ref] = self.audit.change_cause(env.name, item.images_after)
                continue
            live = (known.find(item.ref.kind, item.ref.name) or {}).get("metadata") or {}
            cause = (live.get("annotations") or {}).get(kubectl.CHANGE_CAUSE)
            if cause:
                causes[item.ref] = {kubectl.CHANGE_CAUSE: cause}
        return causes

    def _describe_changes(self, env: Environment, changes: list[WorkloadChange]) -> None:
        if self.runner.dry_run:
            return
        changed = [str(c.ref) for c in changes if c.changed]
        unchanged = [str(c.ref) for c in changes if not c.changed]
        text = f"changed: {', '.join(changed) or 'none'}"
        if unchanged:
            text += f"; unchanged: {', '.join(unchanged)}"
        self.progress.step(env.name, "changes", text)

    def _wait(self, env: Environment, target: Target, refs: Sequence[WorkloadRef],
              result: EnvResult, changes: list[WorkloadChange]) -> None:
        """Wait for ``refs``; the first to fail fails the env (after undoing)."""
        self.progress.step(env.name, "wait", f"{len(refs)} workloads, timeout {env.timeout:g}s")
        with self.progress.waiting(env.name, [ref.name for ref in refs]):
            outcomes = workloads.wait_all(
                self.runner, target, refs, env.timeout,
                on_status=lambda ref, state: self.progress.rollout(env.name, ref.name, state),
            )
        failures = [o for o in outcomes if not o.ok]
        for outcome in outcomes:
            if outcome.ok:
                self.progress.step(env.name, "ready", f"{outcome.ref} ({outcome.seconds:.1f}s)",
                                   "ok")
        if failures:
            # the first to fail is the cause; the others may have been stopped because of it
            first = min(failures, key=lambda outcome: outcome.seconds)
            self.progress.step(env.name, "rollout failed", f"{first.ref}: {first.message}",
                               "fail")
            self._fail(env, target, result, changes, RolloutFailed(
                f"{env.name}: {first.ref} did not roll out: {first.message}"))

    def _verify(self, env: Environment, target: Target, rendered: Rendered,
                result: EnvResult, changes: list[WorkloadChange]) -> Live | None:
        """The rolled-out workloads and their pods run exactly the rendered images; what
        was read."""
        if self.runner.dry_run:
            return None
        live = artifacts.read_live(self.runner, target)
        result.digests = {r.image: r.digest for r in live.running() if r.digest}
        problems = live.mismatches(artifacts.intended_images(rendered.objects))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.progress.step(env.name, "verify failed", "; ".join(problems), "fail")
            self._fail(env, target, result, changes, VerificationFailed(
                f"{env.name}: not running the promoted images: {problems[0]}{more}"))
        self.progress.step(env.name, "verified", "workloads and pods run the promoted images",
                           "ok")
        return live

    def _hooks(self, env: Environment, phase: str, result: EnvResult,
               changes: list[WorkloadChange] | None = None) -> None:
        hooks = env.pre_promotion if phase == "pre" else env.post_promotion
        if not hooks:
            return
        context = HookContext(self.settings, env, self.settings.previous(env.name), phase,
                              self.runner, self.progress)
        for hook in hooks:
            self.progress.step(env.name, f"{phase} hook", hook.label)
            outcome = run_hook(hook, context)
            result.hooks.append(outcome)
            status = "ok" if outcome.ok else "fail"
            self.progress.step(env.name, f"{phase} hook",
                               f"{hook.label}: {outcome.message} ({outcome.seconds:.1f}s)",
                               status)
            if outcome.ok:
                continue
            error = HookFailed(f"{env.name}: {phase}-promotion hook {hook.label!r} failed: "
                               f"{outcome.message}")
            if phase == "pre":
                error.message += "; nothing was changed"
                result.outcome, result.reason, result.exit_code = (
                    "failed", error.message, error.exit_code)
                raise error
            self._fail(env, self.target(env), result, changes or [], error)

    # -- failure and rollback ----------------------------------------------------------------

    def _fail(self, env: Environment, target: Target, result: EnvResult,
              changes: list[WorkloadChange], error: PromotionError) -> None:
        """Undo what this run changed (unless told not to), record, and raise ``error``."""
        undoable = [c for c in changes if c.changed and c.before.exists and c.ref.can_roll_back]
        created = [c for c in changes if c.created]
        result.reason, result.exit_code = error.message, error.exit_code
        result.failure = type(error).__name__
        if created:
            names = ", ".join(str(c.ref) for c in created)
            self.progress.step(env.name, "rollback", f"{names} created by this run, left in place",
                               "warn")
        if not undoable:
            result.outcome = "failed"
            if changes and not self.runner.dry_run:
                self.progress.step(env.name, "rollback", "nothing this run changed to undo")
            raise error
        if not self.rollback_on_failure:
            result.outcome = "failed, not rolled back"
            names = ", ".join(str(c.ref) for c in undoable)
            self.progress.step(env.name, "rollback",
                               f"--no-rollback: {names} left as they are", "warn")
            error.message += f"; left as is (--no-rollback): {names}"
            raise error
        try:
            self._undo(env, target, undoable, result)
        except RollbackFailed as failure:
            result.outcome, result.exit_code = "rollback failed", failure.exit_code
            result.reason = f"{error.message}; {failure.message}"
            raise RollbackFailed(result.reason) from None
        result.outcome = "rolled back"
        error.message += f"; rolled back {', '.join(result.rolled_back)}"
        result.reason = error.message
        raise error

    def _undo(self, env: Environment, target: Target, undoable: list[WorkloadChange],
              result: EnvResult) -> None:
        failed = []
        undone = []
        by_revision: dict[int | None, list[WorkloadRef]] = {}
        for change in undoable:
            revision = int(change.before.revision) if (
                change.ref.kind == "Deployment" and change.before.revision.isdigit()) else None
            by_revision.setdefault(revision, []).append(change.ref)
        for revision, refs in by_revision.items():
            outcomes = workloads.undo_all(self.runner, target, refs, revision)
            to = f" to revision {revision}" if revision else ""
            for ref in refs:
                ok, line = outcomes[ref]
                if ok:
                    undone.append(ref)
                    self.progress.step(env.name, "rollback", f"{ref} rolled back{to}")
                else:
                    failed.append(f"{ref}: {line}")
        if undone:
            with self.progress.waiting(env.name, [ref.name for ref in undone]):
                outcomes = workloads.wait_all(
                    self.runner, target, undone, env.timeout,
                    on_status=lambda ref, state: self.progress.rollout(env.name, ref.name, state))
            failed += [f"{o.ref}: {o.message}" for o in outcomes if not o.ok]
            result.rolled_back = [str(o.ref) for o in outcomes if o.ok]
        if failed:
            message = (f"ROLLBACK FAILED in {env.name} (namespace {env.namespace}): "
                       f"{'; '.join(failed)}. The environment needs attention: check "
                       f"`kubectl rollout history` and `invoke status --env {env.name}`")
            self.progress.step(env.name, "rollback", message, "fail")
            raise RollbackFailed(message)
        self.progress.step(env.name, "rollback", f"done: {', '.join(result.rolled_back)}", "ok")

    def _finish(self, env: Environment, target: Target, result: EnvResult,
                outcome: str, live: Live | None = None) -> None:
        result.outcome = "dry run" if self.runner.dry_run else outcome
        if self.runner.dry_run:
            return
        self._record_final(target, result, live)
        self.progress.step(env.name, "done", outcome, "ok")

    def _record_final(self, target: Target, result: EnvResult,
                      live: Live | None = None) -> Live:
        """Revisions (before -> now) and images of the workloads the run applied, and the
        (digest-pinned) images every workload runs now (``live``: as just read); what was
        read."""
        live = live or artifacts.read_live(self.runner, target)
        final = {s.ref: s for s in map(WorkloadState.from_object, live.workloads)}
        for change in result.changes:
            state = final.get(change.ref, WorkloadState(change.ref, exists=False))
            result.revisions[str(change.ref)] = (change.before.revision, state.revision)
            result.images[str(change.ref)] = dict(state.images)
        result.running = live.running()
        return live

    # -- multi-cluster environments (globepay_tasks.multicluster) --------------------------

    def gate(self, env: Environment, result: EnvResult) -> None:
        """Run ``env``'s pre-promotion hooks on their own (once for all its clusters)."""
        self._hooks(env, "pre", result)

    def revert(self, env: Environment, result: EnvResult, error: PromotionError) -> None:
        """Undo what a finished deploy of ``env`` changed, because ``error`` failed the run
        elsewhere; records it in ``result`` and raises ``error`` (or `RollbackFailed`)."""
        target = self.target(env)
        try:
            self._fail(env, target, result, result.changes, error)
        finally:
            with suppress(PromotionError):
                self._record_final(target, result)

    # -- manual rollback ---------------------------------------------------------------------

    def rollback(self, env: Environment, *, to_revision: int | None = None,
                 only: str | None = None) -> EnvResult:
        """``kubectl rollout undo`` for the env's workloads, waited on, with a summary."""
        started = time.monotonic()
        result = EnvResult(env.name, "rollback", env.namespace, env.context or "",
                           id=self.audit.id_for(env.name) if self.audit else "")
        self.results.append(result)
        target = self.target(env)
        self.progress.header(f"{env.name}: context {env.context or '(current)'}, "
                             f"namespace {env.namespace}: rollback")
        lock: EnvLock | None = None
        known = Snapshot(())
        try:
            if self.runner.dry_run:
                if not only:
                    self.progress.step(env.name, "rollback",
                                       "every Deployment, StatefulSet and DaemonSet of the "
                                       "namespace (listed at run time)")
                refs = [WorkloadRef("Deployment", only)] if only else []
                for ref in refs:
                    workloads.undo(self.runner, target, ref, to_revision)
                result.outcome = "dry run"
                return result
            known = workloads.read_snapshot(self.runner, target, None)
            _rollable(env, known, only)
            lock, known = self._lock(env, target, None, known)
            states = _rollable(env, known, only)
            undone, skipped = [], []
            for state in states:
                outcome = workloads.undo(self.runner, target, state.ref, to_revision)
                said = outcome.stdout.strip().splitlines()
                line = said[-1] if outcome.ok and said else outcome.error_line()
                if outcome.ok and "skipped rollback" not in outcome.stdout:
                    undone.append(state)
                    self.progress.step(env.name, "rollback", f"{state.ref}: {line}")
                else:
                    skipped.append(f"{state.ref}: {line}")
                    self.progress.step(env.name, "skipped", f"{state.ref}: {line}", "warn")
            if not undone:
                raise ConfigError(f"{env.name}: nothing could be rolled back ("
                                  f"{'; '.join(skipped)})")
            with self.progress.waiting(env.name, [s.ref.name for s in undone]):
                outcomes = workloads.wait_all(
                    self.runner, target, [s.ref for s in undone], env.timeout,
                    on_status=lambda ref, state: self.progress.rollout(env.name, ref.name, state))
            bad = [f"{o.ref}: {o.message}" for o in outcomes if not o.ok]
            final = {o.ref: WorkloadState.from_object(o.last) for o in outcomes if o.last}
            if len(final) < len(undone):
                final = workloads.capture(self.runner, target, [s.ref for s in undone])
            for state in undone:
                now = final[state.ref]
                result.revisions[str(state.ref)] = (state.revision, now.revision)
                result.images[str(state.ref)] = dict(now.images)
                self.progress.step(env.name, "rolled back",
                                   f"{state.ref}: revision {state.revision} -> {now.revision}",
                                   "ok")
            result.rolled_back = [str(s.ref) for s in undone]
            result.changes = [WorkloadChange(s.ref, s, final[s.ref]) for s in undone]
            if bad:
                raise RollbackFailed(f"ROLLBACK FAILED in {env.name}: {'; '.join(bad)}")
            result.outcome = "rolled back"
            return result
        except KeyboardInterrupt:
            clear_interrupt()
            raise Interrupted(f"{env.name}: rollback interrupted; check "
                              f"`invoke status --env {env.name}`") from None
        except PromotionError as error:
            result.outcome, result.reason, result.exit_code = (
                "failed", error.message, error.exit_code)
            raise
        finally:
            result.seconds = time.monotonic() - started
            self._close(env, target, result, lock, known, None)

    # -- unlock ------------------------------------------------------------------------------

    def unlock(self, env: Environment) -> None:
        """Remove the env's lock (on each of its clusters) by hand, naming the holder removed."""
        for part in env.clusters():
            where = f"lease {part.namespace}/{self.settings.lock.name}"
            if self.runner.dry_run:
                self.progress.step(part.name, "unlock", f"would remove {where}")
                continue
            target = self.target(part)
            holder = remove_lock(self.runner.at(target), target, self.settings.lock.name,
                                 part.name)
            if holder is None:
                self.progress.step(part.name, "unlock", f"{part.name} is not locked (no {where})")
            else:
                self.progress.step(part.name, "unlock",
                                   f"removed the lock held by {holder.describe()} ({where})",
                                   "warn")


def _rollable(env: Environment, known: Snapshot, only: str | None) -> list[WorkloadState]:
    """The workloads of ``known`` that ``invoke rollback`` undoes (`ConfigError`: none)."""
    states = [WorkloadState.from_object(obj) for obj in known.objects
              if obj.get("kind") in kinds.ROLLOUT_KINDS]
    if only:
        states = [s for s in states if s.ref.name == only]
        if not states:
            raise ConfigError(f"--only {only}: {env.name} has no workload {only!r}")
    if not states:
        raise ConfigError(f"{env.name}: no workloads to roll back in {env.namespace}")
    return states


def applied_lines(objects: Sequence[dict], known: Snapshot) -> list[str]:
    """kubectl's own lines for an apply (``deployment.apps/backend configured``), from the
    objects it returned and the snapshot read before it."""
    lines = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        name = f"{kubectl.resource_of(obj)}/{meta.get('name')}"
        seen = known.find(obj.get("kind", ""), meta.get("name", ""))
        if obj.get("kind") in guards.CLUSTER_SCOPED_KINDS:  # not in the snapshot
            verb = "applied"
        elif seen is None:
            verb = "created"
        else:
            same = (seen.get("metadata") or {}).get("resourceVersion") == meta.get(
                "resourceVersion")
            verb = "unchanged" if same else "configured"
        lines.append(f"{name} {verb}")
    return lines


__all__ = ["ClusterError", "EnvResult", "Promoter", "WorkloadChange", "needs_confirmation"]
