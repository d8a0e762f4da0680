"""When a deploy fails after it changed something: put back exactly what this run changed
(workloads through ``kubectl rollout undo`` to the captured revision, waited on; every other
object it wrote as it was, `restore`), record it, and raise; an interrupt is handled the same
way, then shows where each workload is."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from .. import workloads
from ..errors import (
    EnvironmentLocked,
    ExitStatus,
    Interrupted,
    LockLost,
    PromotionError,
    RollbackFailed,
    RolloutFailed,
)
from ..interrupts import clear_interrupt, request_interrupt, settle_writes
from ..kubectl import Target, WorkloadRef
from ..runner import MARGIN
from ..settings import Environment
from ..workload_state import WorkloadState
from . import locks, restore
from .plan import replaced
from .record import record_final
from .restore import Restoration
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from . import Promoter


def fail(p: Promoter, env: Environment, target: Target, result: EnvResult,
         changes: list[WorkloadChange], error: PromotionError) -> None:
    """Put back what this run changed (unless told not to): every object it wrote as it was
    before, every workload through ``kubectl rollout undo``; record, and raise ``error``."""
    undoable = [c for c in changes if c.changed and c.before.exists and c.ref.can_roll_back]
    result.reason, result.exit_code = error.message, error.exit_code
    result.failure = type(error).__name__
    restoration = _restoration(p, env, target, result, undoable)
    restore.name_unrestorable(p, env, restoration, result)
    for text in restoration.not_restored:
        error.message += f"; {text}"
    if not undoable and not restoration:
        result.outcome = "failed"
        if changes and not p.runner.dry_run:
            p.progress.step(env.name, "rollback", "nothing this run changed to undo")
        result.reason = error.message
        raise error
    if not p.rollback_on_failure:
        result.outcome = "failed, not rolled back"
        names = ", ".join([*(str(c.ref) for c in undoable), *restoration.names()])
        p.progress.step(env.name, "rollback", f"--no-rollback: {names} left as they are", "warn")
        error.message += f"; left as is (--no-rollback): {names}"
        result.reason = error.message
        raise error
    try:
        locks.confirm(p, env, "rolling back")
    except LockLost as lost:
        result.failed_with("failed, not rolled back", f"{error.message}; {lost.message}",
                           lost.exit_code)
        raise LockLost(result.reason) from None
    failed = restore.put_back(p, env, target, restoration, result)
    undo_failed, undone = undo(p, env, target, undoable, result)
    failed += undo_failed + restore.remove(p, env, target, restoration, result, undone)
    if failed:
        message = (f"ROLLBACK FAILED in {env.name} (namespace {env.namespace}): "
                   f"{'; '.join(failed)}. The environment needs attention: check "
                   f"`kubectl rollout history` and `invoke status --env {env.name}`")
        p.progress.step(env.name, "rollback", message, "fail")
        result.failed_with("rollback failed", f"{error.message}; {message}",
                           ExitStatus.ROLLBACK_FAILED)
        raise RollbackFailed(result.reason) from None
    result.outcome = "rolled back"
    done = [*result.rolled_back, *(line.split(": ", 1)[1] for line in result.restored
                                   if not line.startswith("not restored"))]
    p.progress.step(env.name, "rollback", f"done: {', '.join(done)}", "ok")
    error.message += f"; rolled back {', '.join(done)}"
    result.reason = error.message
    raise error


def _restoration(p: Promoter, env: Environment, target: Target, result: EnvResult,
                 undoable: list[WorkloadChange]) -> Restoration:
    """What this run wrote besides the workloads' templates, read again (nothing in a dry run
    or before the run's first write; the workloads alone when the read fails)."""
    if result.before is None or result.rendered is None or p.runner.dry_run:
        return Restoration()
    pruned = [(obj["kind"], obj["metadata"]["name"]) for obj in result.before.objects
              if restore.name_of(obj) in result.pruned]
    try:
        return restore.read(p, target, result.before, result.rendered, pruned,
                            [(ref.kind, ref.name) for ref in replaced(result.plan)],
                            [(c.ref.kind, c.ref.name) for c in undoable])
    except PromotionError as error:
        p.progress.step(env.name, "rollback", f"the objects this run wrote could not be read "
                        f"again, the workloads alone are undone: {error.message}", "warn")
        return Restoration()


def undo(p: Promoter, env: Environment, target: Target, undoable: list[WorkloadChange],
         result: EnvResult) -> tuple[list[str], dict[tuple[str, str], dict]]:
    """``kubectl rollout undo`` of ``undoable`` to the revisions they had before the run (all
    going to one revision in one call), then wait for them; what failed, and each workload
    that rolled back as last seen."""
    failed = []
    undone = []
    by_revision: dict[int | None, list[WorkloadRef]] = {}
    for change in undoable:
        revision = change.ref.rules.undo_revision(change.before.revision)
        by_revision.setdefault(revision, []).append(change.ref)
    for revision, refs in by_revision.items():
        outcomes = workloads.undo_all(p.runner, target, refs, revision)
        to = f" to revision {revision}" if revision else ""
        for ref in refs:
            ok, line = outcomes[ref]
            if ok:
                undone.append(ref)
                p.progress.step(env.name, "rollback", f"{ref} rolled back{to}")
            else:
                failed.append(f"{ref}: {line}")
    if undone:
        with p.progress.waiting(env.name, [ref.name for ref in undone]):
            waited = workloads.wait_all(
                p.runner, target, undone, env.timeout,
                on_status=lambda ref, state: p.progress.rollout(env.name, ref.name, state))
        failed += [f"{o.ref}: {o.message}" for o in waited if not o.ok]
        result.rolled_back = [str(o.ref) for o in waited if o.ok]
        return failed, {(o.ref.kind, o.ref.name): o.last for o in waited if o.ok and o.last}
    return failed, {}


def changed_since(p: Promoter, target: Target, result: EnvResult,
                  before: dict[WorkloadRef, WorkloadState]) -> list[WorkloadChange]:
    """Each workload's change since ``before``, read now (when a write may have ended unseen)."""
    after = workloads.capture(p.runner, target, list(before))
    result.changes = [WorkloadChange(ref, before[ref], after[ref]) for ref in before]
    return result.changes


def unexpected(p: Promoter, env: Environment, target: Target, result: EnvResult,
               before: dict[WorkloadRef, WorkloadState], changes: list[WorkloadChange] | None,
               error: PromotionError) -> PromotionError:
    """The error to raise when ``error`` stopped the deploy after its first write without
    undoing anything (a read refused, the connection lost): what the run changed is undone as
    after a failed rollout (exit 2), unless the lock was lost (another run's changes are not
    undone); the error as it is before the first write or when it was undone already."""
    if result.before is None or result.failure or isinstance(error, EnvironmentLocked):
        return error
    try:
        if changes is None:
            changes = changed_since(p, target, result, before)
    except PromotionError as unread:
        message = (f"ROLLBACK FAILED in {env.name} (namespace {env.namespace}): {error.message}; "
                   f"what the run changed could not be read: {unread.message}. The environment "
                   f"needs attention: check `invoke status --env {env.name}`")
        result.failed_with("rollback failed", message, ExitStatus.ROLLBACK_FAILED)
        return RollbackFailed(message)
    try:
        fail(p, env, target, result, changes, RolloutFailed(error.message))
    except PromotionError as raised:
        return raised
    raise AssertionError("fail() always raises")  # pragma: no cover


def interrupted(p: Promoter, env: Environment, target: Target, result: EnvResult,
                refs: Sequence[WorkloadRef], before: dict[WorkloadRef, WorkloadState],
                changes: list[WorkloadChange] | None) -> None:
    """SIGINT/SIGTERM: the commands are stopped, a write that was running is let finish
    (within its grace); undo what changed, show where each workload is, raise `Interrupted`
    (a second interrupt during the undo: `RollbackFailed`)."""
    clear_interrupt()
    p.progress.step(env.name, "interrupted", "stopping", "fail")
    try:
        settle_writes(p.settings.request_timeout + MARGIN)
        if changes is None and before:
            changes = changed_since(p, target, result, before)
        fail(p, env, target, result, changes or [], Interrupted(
            f"{env.name}: interrupted" if before else
            f"{env.name}: interrupted; nothing was changed"))
    except KeyboardInterrupt:
        request_interrupt()  # the reads stop; a write running is let end, none after the run
        settle_writes(p.settings.request_timeout + MARGIN)
        clear_interrupt()
        message = (f"ROLLBACK INTERRUPTED in {env.name} (namespace {env.namespace}): the "
                   f"environment needs attention: check `invoke status --env {env.name}`")
        result.failed_with("rollback failed", message, ExitStatus.ROLLBACK_FAILED)
        p.progress.step(env.name, "rollback", message, "fail")
        raise RollbackFailed(message) from None
    finally:
        if before and not p.runner.dry_run:
            show_states(p, env, target, refs)


def show_states(p: Promoter, env: Environment, target: Target,
                refs: Sequence[WorkloadRef]) -> None:
    """One line per workload: revision, ready/desired, images (after an interruption)."""
    clear_interrupt()
    try:
        states = workloads.capture(p.runner, target, list(refs))
    except (PromotionError, KeyboardInterrupt) as error:
        why = error.message if isinstance(error, PromotionError) else "interrupted"
        p.progress.step(env.name, "state", f"could not read the workloads: {why}", "warn")
        return
    for ref, state in states.items():
        text = (f"revision {state.revision or '-'}, {state.progress}, "
                f"{', '.join(state.images.values())}" if state.exists else "absent")
        p.progress.step(env.name, "state", f"{ref}: {text}")


def revert(p: Promoter, env: Environment, result: EnvResult, error: PromotionError) -> None:
    """Undo what a finished deploy of ``env`` changed, because ``error`` failed the run
    elsewhere (another target of a multi-cluster environment); records it in ``result`` and
    raises ``error`` (or `RollbackFailed`). Its images are not marked bad: they did not fail
    here."""
    target = p.target(env)
    try:
        fail(p, env, target, result, result.changes, error)
    finally:
        result.failure = ""
        with suppress(PromotionError):
            record_final(p, target, result)
