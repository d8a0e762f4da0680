"""Deploying one environment: its plan, pre-promotion hooks, lock, apply, wait, verification
and post-promotion hooks, then its record. A failure at any step after the apply undoes what
the run changed (`failure`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from .. import (
    apply_errors,
    applyset,
    artifacts,
    guards,
    kubectl,
    manifests,
    phases,
    pods,
    workloads,
)
from ..artifacts import Live
from ..errors import (
    ApplyFailed,
    ClusterError,
    ConfigError,
    LockLost,
    PromotionError,
    RolloutFailed,
    ServerNotAnswering,
    VerificationFailed,
)
from ..kubectl import Target, WorkloadRef
from ..manifests import Rendered
from ..settings import Environment
from ..snapshot import Snapshot
from ..workload_state import WorkloadState
from . import locks
from .failure import fail, interrupted, unexpected
from .gates import POST, PRE, run_hooks
from .plan import (
    CHANGE,
    CREATE,
    UNKNOWN,
    PlannedChange,
    already_set,
    kind_counts,
    marked,
    ordered,
    planned_refs,
    predict,
    predict_others,
    predict_prunes,
    replaced,
    summarize,
)
from .preflight import check_bad, take_snapshot
from .prune import prune
from .record import Ending, record_final
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from ..lock import EnvLock
    from . import Promoter


def deploy(p: Promoter, env: Environment, rendered: Rendered, *, action: str = "deploy",
           source: str = "") -> EnvResult:
    """Hooks, apply, wait, verify, hooks; on failure undo what changed and raise."""
    started = time.monotonic()
    result = EnvResult(env.name, action, env.namespace, env.context or "", source=source,
                       id=p.audit.id_for(env.name) if p.audit else "",
                       requested=p.requested.get(env.name, {}))
    p.results.append(result)
    target = p.target(env)
    changes: list[WorkloadChange] | None = None
    before: dict[WorkloadRef, WorkloadState] = {}
    lock: EnvLock | None = None
    known = Snapshot(())
    final: Live | None = None
    held = p.held.pop(env.name, None)
    try:
        lock = held[1] if held else None
        known = show_plan(p, env, target, rendered, result, held[2] if held else None)
        try:
            result.allowed_bad = check_bad(p, env, rendered, known=known)
            if p.confirm is not None:  # asked after the plan was shown
                p.confirm(env)
        except ConfigError as error:
            result.failed_with("refused", error.message, error.exit_code)
            raise
        run_hooks(p, env, PRE, result)
        refs = list(rendered.workloads)
        if held is None:
            lock, fresh = locks.take(p, env, target, rendered, known)
            if fresh is not known:  # read again to take the lock: plan from that read
                known = fresh
                plan_from(p, env, rendered, result, known)
                p.progress.step(env.name, "plan", "read again: "
                                f"{summarize([*result.plan, *result.others])}")
        if lock is not None:
            p.locks[env.name] = lock
        before = known.states(refs)
        result.rendered, result.before = rendered, known
        after = dict(before)
        steps = in_phases(rendered)
        for index, (phase, part) in enumerate(steps):
            if len(steps) > 1:
                p.progress.step(env.name, "phase", f"{phase}: {kind_counts(part)}")
            locks.confirm(p, env, "its apply" if index == 0 else f"its {phase} phase")
            changes = None  # an interrupt during the apply reads what it changed
            parent = [] if index else [owner(env, rendered, known)]
            applied, now = apply(p, env, target, part, result.plan, known, parent)
            after.update(now)
            changes = [WorkloadChange(ref, before[ref], after[ref]) for ref in refs]
            result.changes = changes
            if applied is not None:
                fail(p, env, target, result, changes, applied)
            describe_changes(p, env, [c for c in changes if c.ref in part.workloads])
            wait(p, env, target, part.workloads, result, changes,
                 later=[later for later, _ in steps[index + 1:]])
        final = verify(p, env, target, rendered, result, changes)
        run_hooks(p, env, POST, result, changes)
        prune(p, env, target, result)
        if p.runner.dry_run:  # what it would run: the next environment's plan receives it
            result.running = artifacts.would_run(rendered.objects)
        locks.confirm(p, env, "writing its history record")
        finish(p, env, target, result, "succeeded", final)
    except KeyboardInterrupt:
        interrupted(p, env, target, result, rendered.workloads, before, changes)
    except PromotionError as raised:
        error = unexpected(p, env, target, result, before, changes, raised)
        if not result.reason:
            kept = isinstance(error, LockLost) and any(c.changed for c in result.changes)
            result.failed_with("failed, not rolled back" if kept else "failed", error.message,
                               error.exit_code)
        final = None  # a rollback may have changed what the verification read
        if result.changes and not p.runner.dry_run:
            with suppress(PromotionError):
                final = record_final(p, target, result)
        if error is raised:
            raise
        raise error from raised
    finally:
        result.seconds = time.monotonic() - started
        p.locks.pop(env.name, None)
        ending = Ending(env, target, result, lock, known, final)
        if p.endings is None:
            ending.close(p)
        else:
            p.endings.append(ending)
    return result


def show_plan(p: Promoter, env: Environment, target: Target, rendered: Rendered,
              result: EnvResult, known: Snapshot | None) -> Snapshot:
    """The env's header: where it goes and what the apply will change, from ``known`` (None:
    the env's snapshot, read now unless the preflight read it); that snapshot."""
    host = f", host {target.remote}" if target.remote else ""
    where = (f"{env.name}: context {env.context or '(current)'}{host}, "
             f"namespace {env.namespace}, {kind_counts(rendered)}")
    try:
        known = known or take_snapshot(p, env, rendered)
    except ClusterError:
        p.progress.header(where)
        raise
    plan_from(p, env, rendered, result, known)
    everything = [*result.plan, *result.others]
    dry = " (dry run)" if p.runner.dry_run else ""
    p.progress.header(f"{where}: {summarize(everything)}{dry}")
    for item in ordered(everything, rendered):
        p.progress.step(env.name, "plan", f"{item.describe()} [{item.phase}]")
    plain = p.overlays.get(rendered.overlay)
    for image in already_set(result.requested, plain.rendered if plain else None):
        p.progress.step(env.name, "plan", f"image {image}: the overlay has it already")
    return known


def plan_from(p: Promoter, env: Environment, rendered: Rendered, result: EnvResult,
              known: Snapshot) -> None:
    """The plan of every rendered object, from ``known``, into ``result``."""
    assigned = phases.assign(rendered.objects)
    result.plan = predict(rendered, known.states(planned_refs(rendered)), assigned, known)
    if p.compared:
        result.plan = marked(result.plan, *p.compared)
    result.others = [*predict_others(rendered, known, assigned, env.name in p.new_namespaces),
                     *predict_prunes(rendered, known, env.namespace, p.prune)]


def in_phases(rendered: Rendered) -> list[tuple[str, Rendered]]:
    """The rendered objects of each phase that has any, in the order they are applied."""
    assigned = phases.assign(rendered.objects)
    return [(phase, manifests.subset(rendered, lambda obj, phase=phase:
                                     assigned[phases.key(obj)] == phase))
            for phase in phases.ORDER if phase in assigned.values()]


def owner(env: Environment, rendered: Rendered, known: Snapshot) -> dict:
    """The parent of the env's ApplySet as the first apply writes it: the kinds it held and
    the kinds ``rendered`` adds (the kinds no longer rendered go once they are pruned)."""
    had = applyset.parent_kinds(known.find("ConfigMap", applyset.PARENT))
    return applyset.parent(env.namespace, had | applyset.group_kinds(rendered.objects))


def apply(p: Promoter, env: Environment, target: Target, rendered: Rendered,
          plan: Sequence[PlannedChange], known: Snapshot, parent: Sequence[dict] = (),
          ) -> tuple[ApplyFailed | None, dict[WorkloadRef, WorkloadState]]:
    """Apply the rendered overlay (after ``parent``, the ApplySet's parent, when given), each
    workload the plan changes carrying this run's change-cause (its new revision shows it in
    ``kubectl rollout history``); each workload's state after it, and the error to fail with
    (after undoing) if the server refused."""
    where = f" on {target.remote}" if target.remote else ""
    refs = list(rendered.workloads)
    jobs = [ref for ref in replaced(plan) if ref in refs]
    problem = replace_jobs(p, env, target, jobs)
    if problem:
        return ApplyFailed(f"{env.name}: {problem}"), workloads.capture(p.runner, target, refs)
    p.progress.step(env.name, "apply", f"kubectl apply -f, rendered from {rendered.overlay}{where}")
    outcome, objects = workloads.apply(p.runner, target, rendered, known,
                                       causes(p, env, plan, known), parent, jobs)
    if outcome.ok and (objects or p.runner.dry_run):
        for line in applied_lines(objects, known, jobs):
            p.progress.output(env.name, "apply", line)
        return None, Snapshot(tuple(objects)).states(refs)
    after = workloads.capture(p.runner, target, refs)
    if outcome.ok:
        return None, after
    said = ("; ".join(apply_errors.refusals(rendered.objects, outcome.stderr))
            or outcome.error_line())
    p.progress.step(env.name, "apply failed", said, "fail")
    return ApplyFailed(f"{env.name}: apply failed: {said}"), after


def replace_jobs(p: Promoter, env: Environment, target: Target,
                 jobs: Sequence[WorkloadRef]) -> str:
    """Delete the Jobs the plan replaces (a Job's pod template cannot change), their pods in
    the background, and wait until they are gone, so that the apply creates them again: one
    ``kubectl delete`` whatever their number. What failed ("": none)."""
    if not jobs or p.runner.dry_run:
        return ""
    listed = ", ".join(str(ref) for ref in jobs)
    p.progress.step(env.name, "replace", f"{listed}: deleting (its pods in the background), "
                    "to be created again by the apply")
    deleted = p.runner.at(target).run(kubectl.delete_objects(target, [ref.ref for ref in jobs],
                                                             env.timeout), idempotent=True)
    if not deleted.ok:
        return f"deleting {listed} to replace it failed: {deleted.error_line()}"
    return ""


def causes(p: Promoter, env: Environment, plan: Sequence[PlannedChange],
           known: Snapshot) -> dict[WorkloadRef, dict[str, str]]:
    """The change-cause of each workload the plan changes; the one it has for the others (so
    that the apply leaves it as it is)."""
    found: dict[WorkloadRef, dict[str, str]] = {}
    for item in plan if p.audit else ():
        if not item.ref.can_roll_back:
            continue
        if item.action in (CHANGE, CREATE, UNKNOWN):
            found[item.ref] = p.audit.change_cause(env.name, item.images_after)
            continue
        live = (known.find(item.ref.kind, item.ref.name) or {}).get("metadata") or {}
        cause = (live.get("annotations") or {}).get(kubectl.CHANGE_CAUSE)
        if cause:
            found[item.ref] = {kubectl.CHANGE_CAUSE: cause}
    return found


def applied_lines(objects: Sequence[dict], known: Snapshot,
                  jobs: Sequence[WorkloadRef] = ()) -> list[str]:
    """kubectl's own lines for an apply (``deployment.apps/backend configured``), from the
    objects it returned and the snapshot read before it (``jobs``, deleted before it:
    ``replaced``)."""
    lines = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "ConfigMap" and meta.get("name") == applyset.PARENT:
            continue
        name = f"{kubectl.resource_of(obj)}/{meta.get('name')}"
        seen = known.find(obj.get("kind", ""), meta.get("name", ""))
        if obj.get("kind") in guards.CLUSTER_SCOPED_KINDS:  # not in the snapshot
            verb = "applied"
        elif WorkloadRef(obj.get("kind", ""), meta.get("name", "")) in jobs:
            verb = "replaced"
        elif seen is None:
            verb = "created"
        else:
            same = (seen.get("metadata") or {}).get("resourceVersion") == meta.get(
                "resourceVersion")
            verb = "unchanged" if same else "configured"
        lines.append(f"{name} {verb}")
    return lines


def describe_changes(p: Promoter, env: Environment, changes: list[WorkloadChange]) -> None:
    if p.runner.dry_run:
        return
    changed = [str(c.ref) for c in changes if c.changed]
    unchanged = [str(c.ref) for c in changes if not c.changed]
    text = f"changed: {', '.join(changed) or 'none'}"
    if unchanged:
        text += f"; unchanged: {', '.join(unchanged)}"
    p.progress.step(env.name, "changes", text)


def wait(p: Promoter, env: Environment, target: Target, refs: Sequence[WorkloadRef],
         result: EnvResult, changes: list[WorkloadChange], later: Sequence[str] = ()) -> None:
    """Wait for ``refs``; the first to fail fails the env (after undoing), the phases
    ``later`` not started."""
    if not refs:
        return
    p.progress.step(env.name, "wait", f"{len(refs)} workloads, timeout {env.timeout:g}s")
    with p.progress.waiting(env.name, [ref.name for ref in refs]):
        outcomes = workloads.wait_all(
            p.runner, target, refs, env.timeout,
            on_status=lambda ref, state: p.progress.rollout(env.name, ref.name, state))
    failures = [o for o in outcomes if not o.ok]
    for outcome in outcomes:
        if outcome.ok:
            p.progress.step(env.name, "ready", f"{outcome.ref} ({outcome.seconds:.1f}s)", "ok")
    if failures:
        # the first to fail is the cause; the others may have been stopped because of it
        first = min(failures, key=lambda outcome: outcome.seconds)
        untouched = f"; {' and '.join(later)} not started" if later else ""
        silent = unanswered(p, target, first.ref) if first.undecided else ""
        if silent:
            said = f"{first.message}; {silent}"
            p.progress.step(env.name, "rollout unknown", f"{first.ref}: {said}", "fail")
            fail(p, env, target, result, changes, ServerNotAnswering(
                f"{env.name}: {first.ref}: rollout outcome unknown: {said}{untouched}"))
        reasons, digests = pods.why(p.runner, target, first.ref)  # the pods' reasons
        said = first.message + reasons
        result.failed_rollouts.append(str(first.ref))
        result.digests.update(digests)
        p.progress.step(env.name, "rollout failed", f"{first.ref}: {said}", "fail")
        fail(p, env, target, result, changes, RolloutFailed(
            f"{env.name}: {first.ref} did not roll out: {said}{untouched}"))


def unanswered(p: Promoter, target: Target, ref: WorkloadRef) -> str:
    """Why the API server cannot say how ``ref``'s undecided rollout went (one read of the
    workloads); "" when it answers (the rollout itself ran out of time)."""
    try:
        workloads.capture(p.runner, target, [ref])
    except ClusterError as error:
        return error.message
    return ""


def verify(p: Promoter, env: Environment, target: Target, rendered: Rendered,
           result: EnvResult, changes: list[WorkloadChange]) -> Live | None:
    """The rolled-out workloads and their pods run exactly the rendered images; what was
    read."""
    if p.runner.dry_run:
        return None
    live = artifacts.read_live(p.runner, target)
    result.digests = {r.image: r.digest for r in live.running() if r.digest}
    problems = live.mismatches(artifacts.intended_images(rendered.objects))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        p.progress.step(env.name, "verify failed", "; ".join(problems), "fail")
        fail(p, env, target, result, changes, VerificationFailed(
            f"{env.name}: not running the promoted images: {problems[0]}{more}"))
    p.progress.step(env.name, "verified", "workloads and pods run the promoted images", "ok")
    return live


def finish(p: Promoter, env: Environment, target: Target, result: EnvResult, outcome: str,
           live: Live | None = None) -> None:
    result.outcome = "dry run" if p.runner.dry_run else outcome
    if p.runner.dry_run:
        return
    record_final(p, target, result, live)
    p.progress.step(env.name, "done", outcome, "ok")
