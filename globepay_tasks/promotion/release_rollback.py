"""``invoke rollback`` of a whole environment: back to the release it ran before its most
recent promotion (or to the release ``--to-release`` names), every object as that record
keeps it: the workloads through ``kubectl rollout undo`` to their recorded revisions, the
release re-applied (so each object's last-applied configuration is the release's), what was
added since deleted; waited on and recorded, with a plan first and the confirmation after it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import apply_errors, applyset, kubectl, phases, release, workloads
from ..errors import ConfigError, RollbackFailed
from ..kubectl import Target, WorkloadRef
from ..manifests import Rendered
from ..settings import Environment
from ..snapshot import Snapshot, read_optional, read_snapshot
from ..workload_state import WorkloadState, template_key
from . import locks
from .deploy import applied_lines, replace_jobs
from .plan import (
    ordered,
    planned_refs,
    predict,
    predict_others,
    predict_prunes,
    replaced,
    summarize,
)
from .prune import prune
from .record import rollback_run
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from . import Promoter

PROMOTIONS = ("deploy", "promote")


def choose(records: Sequence[dict[str, Any]], to_release: str | None,
           env: Environment) -> dict[str, Any] | None:
    """The record to go back to: ``to_release``, or the newest release older than the most
    recent promotion that succeeded (None: there is none)."""
    if to_release:
        found = next((r for r in records if r.get("id") == to_release), None)
        if found is None:
            raise ConfigError(f"--to-release {to_release}: {env.name} has no such record "
                              f"(see invoke history --env {env.name})")
        if not release.has_release(found):
            raise ConfigError(f"--to-release {to_release}: that record is a {found['action']} "
                              f"that ended {found['outcome']!r}, not a release; pick one "
                              "that succeeded")
        return found
    latest = next((index for index, r in enumerate(records) if r.get("action") in PROMOTIONS
                   and r.get("outcome") == "succeeded" and release.has_release(r)), None)
    if latest is None:
        return None
    return next((r for r in records[latest + 1:] if release.has_release(r)), None)


def released(p: Promoter, target: Target, record: dict[str, Any]) -> Rendered:
    """The objects of a recorded release (its Secrets' values read from the Secret beside
    the record)."""
    values = {}
    if (record.get("release") or {}).get("secret_hashes"):
        values = release.secret_values(read_optional(p.runner.reader, target, "secret",
                                                     record["_name"]))
    objects = tuple(release.objects_of(record["release"], values, record["id"]))
    manifest = "---\n".join(json.dumps(obj) + "\n" for obj in objects)
    return Rendered(f"release {record['id']}", objects, tuple(kubectl.workloads_in(objects)),
                    "", manifest)


def rollback_to(p: Promoter, env: Environment, record: dict[str, Any]) -> EnvResult:
    """Bring ``env`` back to the release ``record`` keeps."""
    with rollback_run(p, env, source=f"release {record['id']}") as run:
        result, target = run.result, run.target
        rendered = released(p, target, record)
        run.known = show_plan(p, env, target, rendered, result, record)
        if p.runner.dry_run:
            result.outcome = "dry run"
            return result
        if p.confirm is not None:
            p.confirm(env)
        run.lock, run.known = locks.take(p, env, target, rendered, run.known)
        result.rendered, result.before = rendered, run.known
        before = run.known.states(rendered.workloads)
        undo_to_recorded(p, env, target, rendered, before, record)
        jobs = [ref for ref in replaced(result.plan) if ref in rendered.workloads]
        problem = replace_jobs(p, env, target, jobs)
        if problem:
            raise RollbackFailed(f"ROLLBACK FAILED in {env.name}: {problem}")
        reapply(p, env, target, rendered, run.known, jobs)
        waited = workloads.wait_all(
            p.runner, target, list(rendered.workloads), env.timeout,
            on_status=lambda ref, state: p.progress.rollout(env.name, ref.name, state))
        bad = [f"{o.ref}: {o.message}" for o in waited if not o.ok]
        if bad:
            raise RollbackFailed(f"ROLLBACK FAILED in {env.name}: {'; '.join(bad)}")
        prune(p, env, target, result)
        after = workloads.capture(p.runner, target, list(rendered.workloads))
        result.changes = [WorkloadChange(ref, before[ref], after[ref])
                          for ref in rendered.workloads]
        result.rolled_back = [str(c.ref) for c in result.changes if c.changed]
        for change in result.changes:
            result.revisions[str(change.ref)] = (change.before.revision, change.after.revision)
            result.images[str(change.ref)] = dict(change.after.images)
        result.outcome = "rolled back"
        p.progress.step(env.name, "rolled back", f"to release {record['id']}", "ok")
        return result


def show_plan(p: Promoter, env: Environment, target: Target, rendered: Rendered,
              result: EnvResult, record: dict[str, Any]) -> Snapshot:
    """The header and the plan of going back to ``record``'s release; the namespace read."""
    known = read_snapshot(p.runner.reader, target, rendered)
    assigned = phases.assign(rendered.objects)
    result.plan = predict(rendered, known.states(planned_refs(rendered)), assigned, known)
    result.others = [*predict_others(rendered, known, assigned, False),
                     *predict_prunes(rendered, known, env.namespace, True)]
    everything = [*result.plan, *result.others]
    dry = " (dry run)" if p.runner.dry_run else ""
    p.progress.header(f"{env.name}: context {env.context or '(current)'}, namespace "
                      f"{env.namespace}: rollback to release {record['id']} of "
                      f"{record.get('started', '?')}: {summarize(everything)}{dry}")
    for item in ordered(everything, rendered):
        p.progress.step(env.name, "plan", item.describe())
    return known


def undo_to_recorded(p: Promoter, env: Environment, target: Target, rendered: Rendered,
                     before: dict[WorkloadRef, WorkloadState], record: dict[str, Any]) -> None:
    """``kubectl rollout undo --to-revision`` of each workload whose pod template is not the
    release's, to the revision the record names (one that no longer exists: the apply rolls
    it instead)."""
    revisions = record.get("revisions_after") or {}
    objects = {(obj["kind"], obj["metadata"]["name"]): obj for obj in rendered.objects}
    for ref in rendered.workloads:
        state, revision = before[ref], str(revisions.get(str(ref)) or "")
        wanted = template_key(ref.rules.pod_template(objects[(ref.kind, ref.name)]))
        if not (ref.can_roll_back and state.exists and revision.isdigit()) or (
                (state.applied or state.template) == wanted):  # as the plan compares
            continue
        outcome = workloads.undo(p.runner, target, ref, int(revision))
        if outcome.ok:
            p.progress.step(env.name, "rollback", f"{ref} rolled back to revision {revision}")
        else:
            p.progress.step(env.name, "rollback", f"{ref}: {outcome.error_line()}; the "
                            "release's apply rolls it instead", "warn")


def reapply(p: Promoter, env: Environment, target: Target, rendered: Rendered,
            known: Snapshot, jobs: Sequence[WorkloadRef]) -> None:
    """``kubectl apply`` of the release (after the ApplySet's parent; ``jobs``: deleted
    before it, to be created again)."""
    had = applyset.parent_kinds(known.find("ConfigMap", applyset.PARENT))
    parent = applyset.parent(env.namespace, had | applyset.group_kinds(rendered.objects))
    p.progress.step(env.name, "apply", f"kubectl apply -f, the objects of {rendered.overlay}")
    outcome, objects = workloads.apply(p.runner, target, rendered, known, None, [parent],
                                       jobs)
    if not outcome.ok:
        said = "; ".join(apply_errors.refusals(rendered.objects, outcome.stderr)) or (
            outcome.error_line())
        raise RollbackFailed(f"ROLLBACK FAILED in {env.name}: applying {rendered.overlay}: "
                             f"{said}")
    for line in applied_lines(objects, known, jobs):
        p.progress.output(env.name, "apply", line)

