"""The end of a run in an environment: what every workload runs now, the history record, and
the lock's release, written in one ``kubectl apply``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import applyset, artifacts, workloads
from ..artifacts import Live
from ..command_result import CommandResult
from ..errors import ExitStatus, Interrupted, PromotionError
from ..interrupts import clear_interrupt
from ..kubectl import Target
from ..lock import EnvLock
from ..settings import Environment
from ..snapshot import Snapshot
from ..workload_state import WorkloadState
from .result import EnvResult

if TYPE_CHECKING:
    from ..audit import Entry
    from . import Promoter


@dataclass
class RollbackRun:
    """One rollback of an environment: its result, and the lock and the snapshot it closes
    with (set as the rollback takes them)."""

    result: EnvResult
    target: Target
    lock: EnvLock | None = None
    known: Snapshot = field(default_factory=lambda: Snapshot(()))


@contextmanager
def rollback_run(p: Promoter, env: Environment, source: str = "") -> Iterator[RollbackRun]:
    """A rollback's `EnvResult` (in ``p.results``): an interrupt or a `PromotionError` in the
    block fails it, and it is recorded and its lock released (`close`) however it ends."""
    started = time.monotonic()
    result = EnvResult(env.name, "rollback", env.namespace, env.context or "",
                       id=p.audit.id_for(env.name) if p.audit else "", source=source)
    p.results.append(result)
    run = RollbackRun(result, p.target(env))
    try:
        yield run
    except KeyboardInterrupt:
        clear_interrupt()
        message = f"{env.name}: rollback interrupted; check `invoke status --env {env.name}`"
        result.failed_with("interrupted", message, ExitStatus.INTERRUPTED)
        raise Interrupted(message) from None
    except PromotionError as error:
        result.failed_with("failed", error.message, error.exit_code)
        raise
    finally:
        result.seconds = time.monotonic() - started
        close(p, env, run.target, result, run.lock, run.known, None)


@dataclass(frozen=True)
class Ending:
    """A deploy's `close`, left for later (`Promoter.endings`): a target of a multi-cluster
    environment keeps its lock and writes its record once every target has ended (it may
    yet be undone because another failed)."""

    env: Environment
    target: Target
    result: EnvResult
    lock: EnvLock | None
    known: Snapshot
    final: Live | None

    def close(self, p: Promoter, *, undone: bool = False) -> None:
        """`close` (``undone``: the workloads read again, not as the deploy last read them)."""
        close(p, self.env, self.target, self.result, self.lock, self.known,
              None if undone else self.final)


def close(p: Promoter, env: Environment, target: Target, result: EnvResult | None,
          lock: EnvLock | None, known: Snapshot, final: Live | None) -> None:
    """Write the history record of a run that reached the cluster's workloads (not of a dry
    run, a refusal or a pre-promotion hook that stopped it) and release the lock, in one
    ``kubectl apply``; ``result.id`` stays set only when the record was written."""
    clear_interrupt()
    if lock is not None and lock.lost:  # another run's now: neither record nor release
        if result is not None:
            result.id = ""
            p.progress.step(env.name, "history", f"not recorded: this run's lock was "
                            f"{lock.lost}", "warn")
        return
    entry = _entry(p, env, target, result, known, final) if result else None
    objects = [*(entry.objects if entry else []), *owner(env, result, known)]
    released = lock.stop() if lock else None
    if released is not None:
        objects = [released, *objects]
    if not objects:
        return
    try:
        applied = workloads.apply_objects(p.runner, target, objects)
    except PromotionError as error:
        applied = CommandResult("kubectl apply", 1, stderr=error.message)
    except KeyboardInterrupt:
        applied = CommandResult("kubectl apply", 130, stderr="interrupted")
    if lock is not None and released is not None and lock.released(applied):
        p.progress.step(env.name, "lock", f"released {lock.where}")
    if entry is None or result is None:
        return
    written = applied.stdout + " "
    if not all(f"{obj['kind'].lower()}/{obj['metadata']['name']} " in written
               for obj in entry.objects):
        result.id = ""
        p.progress.step(env.name, "history", f"not recorded: {applied.error_line()}", "warn")
        return
    for step, text, status in entry.said:
        p.progress.step(env.name, step, text, status)
    try:
        entry.prune()
    except PromotionError as error:
        p.progress.step(env.name, "history", error.message, "warn")


def owner(env: Environment, result: EnvResult | None, known: Snapshot) -> list[dict]:
    """The parent of the env's ApplySet after a release: the kinds it holds now (those of
    the objects ``result`` applied and kept); nothing after any other run."""
    if result is None or not result.left_release or result.rendered is None:
        return []
    kept = [obj for obj in applyset.members(known.objects, env.namespace)
            if f"{obj['kind'].lower()}/{obj['metadata']['name']}" in result.kept]
    kinds = applyset.group_kinds([*result.rendered.objects, *kept])
    return [applyset.parent(env.namespace, kinds)]


def _entry(p: Promoter, env: Environment, target: Target, result: EnvResult, known: Snapshot,
           final: Live | None) -> Entry | None:
    """The history record of ``result``, or None (and no id) when there is none."""
    if p.audit is None or p.runner.dry_run or not result.changes:
        result.id = ""
        return None
    try:
        final = final or artifacts.read_live(p.runner, target)
        return p.audit.entry(env, target, result, final.workloads, known)
    except PromotionError as error:
        result.id = ""
        p.progress.step(env.name, "history", f"not recorded: {error.message}", "warn")
        return None


def record_final(p: Promoter, target: Target, result: EnvResult,
                 live: Live | None = None) -> Live:
    """Revisions (before -> now) and images of the workloads the run applied, and the
    (digest-pinned) images every workload runs now (``live``: as just read); what was read."""
    live = live or artifacts.read_live(p.runner, target)
    final = {s.ref: s for s in map(WorkloadState.from_object, live.workloads)}
    for change in result.changes:
        state = final.get(change.ref, WorkloadState(change.ref, exists=False))
        result.revisions[str(change.ref)] = (change.before.revision, state.revision)
        result.images[str(change.ref)] = dict(state.images)
    for item in result.plan:  # CronJobs: applied, not waited on, their images recorded too
        if not item.ref.rules.awaited and item.ref in final:
            result.images[str(item.ref)] = dict(final[item.ref].images)
    result.running = live.running()
    return live
