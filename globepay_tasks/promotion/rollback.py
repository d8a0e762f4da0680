"""``invoke rollback``: the environment back to its release before its latest promotion, or
to ``--to-release`` (`release_rollback`); with ``--only`` or ``--to-revision`` (or no release
recorded to go back to), ``kubectl rollout undo`` of its workloads by hand (all, or one, to
the previous revision or the one named), waited on and recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import audit, kinds, workloads
from ..errors import ConfigError, RollbackFailed
from ..kubectl import WorkloadRef
from ..settings import Environment
from ..snapshot import Snapshot, read_snapshot
from ..workload_state import WorkloadState
from . import locks, release_rollback
from .record import rollback_run
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from . import Promoter


def rollback(p: Promoter, env: Environment, *, to_revision: int | None = None,
             only: str | None = None, to_release: str | None = None) -> EnvResult:
    """The env back to a recorded release (`release_rollback`), or ``kubectl rollout undo``
    of its workloads (``to_revision``, ``only``: always), waited on, with a summary."""
    if to_revision is None:
        records = audit.read_records(p.runner.reader, p.target(env))
        chosen = release_rollback.choose(records, to_release, env)
        if chosen is not None and not only:
            return release_rollback.rollback_to(p, env, chosen)
        if chosen is not None and only:
            recorded = recorded_revision(p, env, chosen, only)
            return undo_workloads(p, env, to_revision=recorded, only=only, recorded=True)
        if not only:
            p.progress.step(env.name, "rollback", "no earlier release recorded: the workloads "
                            "alone are rolled back (kubectl rollout undo)", "warn")
    return undo_workloads(p, env, to_revision=to_revision, only=only)


def recorded_revision(p: Promoter, env: Environment, record: dict, name: str) -> int | None:
    """The revision workload ``name`` had in ``record``'s release (None: not recorded, the
    previous revision then), so that ``--only`` goes back to before the latest promotion
    rather than to a revision a failed run left behind."""
    revisions = record.get("revisions_after") or {}
    revision = next((str(number) for ref, number in revisions.items()
                     if ref.partition("/")[2] == name), "")
    if not revision.isdigit():
        return None
    p.progress.step(env.name, "rollback", f"{name}: to revision {revision}, as in release "
                    f"{record['id']} (before the latest promotion)")
    return int(revision)


def undo_workloads(p: Promoter, env: Environment, *, to_revision: int | None = None,
                   only: str | None = None, recorded: bool = False) -> EnvResult:
    """``kubectl rollout undo`` for the env's workloads, waited on, with a summary
    (``recorded``: ``to_revision`` comes from a record; when the workload no longer has it,
    an undo moved it to a newer number, and the previous revision is taken instead)."""
    p.progress.header(f"{env.name}: context {env.context or '(current)'}, "
                      f"namespace {env.namespace}: rollback")
    with rollback_run(p, env) as run:
        result, target = run.result, run.target
        if p.runner.dry_run:
            if not only:
                p.progress.step(env.name, "rollback", "every Deployment, StatefulSet and "
                                "DaemonSet of the namespace (listed at run time)")
            for ref in [WorkloadRef("Deployment", only)] if only else []:
                workloads.undo(p.runner, target, ref, to_revision)
            result.outcome = "dry run"
            return result
        run.known = read_snapshot(p.runner, target, None)
        rollable(env, run.known, only)
        if p.confirm is not None:
            p.confirm(env)
        run.lock, run.known = locks.take(p, env, target, None, run.known)
        undone = _undo_each(p, env, rollable(env, run.known, only), to_revision, recorded)
        with p.progress.waiting(env.name, [s.ref.name for s in undone]):
            outcomes = workloads.wait_all(
                p.runner, target, [s.ref for s in undone], env.timeout,
                on_status=lambda ref, state: p.progress.rollout(env.name, ref.name, state))
        bad = [f"{o.ref}: {o.message}" for o in outcomes if not o.ok]
        final = {o.ref: WorkloadState.from_object(o.last) for o in outcomes if o.last}
        if len(final) < len(undone):
            final = workloads.capture(p.runner, target, [s.ref for s in undone])
        for state in undone:
            now = final[state.ref]
            result.revisions[str(state.ref)] = (state.revision, now.revision)
            result.images[str(state.ref)] = dict(now.images)
            p.progress.step(env.name, "rolled back",
                            f"{state.ref}: revision {state.revision} -> {now.revision}", "ok")
        result.rolled_back = [str(s.ref) for s in undone]
        result.changes = [WorkloadChange(s.ref, s, final[s.ref]) for s in undone]
        if bad:
            raise RollbackFailed(f"ROLLBACK FAILED in {env.name}: {'; '.join(bad)}")
        result.outcome = "rolled back"
        return result


def _undo_each(p: Promoter, env: Environment, states: list[WorkloadState],
               to_revision: int | None, recorded: bool = False) -> list[WorkloadState]:
    """``kubectl rollout undo`` of each workload in turn; those it rolled back
    (`ConfigError` when none could be)."""
    target = p.target(env)
    undone, skipped = [], []
    for state in states:
        outcome = workloads.undo(p.runner, target, state.ref, to_revision)
        if recorded and not outcome.ok and "unable to find specified revision" in (
                outcome.stderr):
            p.progress.step(env.name, "rollback", f"{state.ref}: no revision {to_revision} any "
                            "more (an undo renumbered it): to the previous revision "
                            "instead", "warn")
            outcome = workloads.undo(p.runner, target, state.ref, None)
        said = outcome.stdout.strip().splitlines()
        line = said[-1] if outcome.ok and said else outcome.error_line()
        if outcome.ok and "skipped rollback" not in outcome.stdout:
            undone.append(state)
            p.progress.step(env.name, "rollback", f"{state.ref}: {line}")
        else:
            skipped.append(f"{state.ref}: {line}")
            p.progress.step(env.name, "skipped", f"{state.ref}: {line}", "warn")
    if not undone:
        raise ConfigError(f"{env.name}: nothing could be rolled back ({'; '.join(skipped)})")
    return undone


def rollable(env: Environment, known: Snapshot, only: str | None) -> list[WorkloadState]:
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
