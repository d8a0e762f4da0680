"""Pruning: deleting what an earlier promotion applied to the environment (a member of its
ApplySet) and the overlay no longer renders, once the new release rolled out and its
post-promotion hooks passed; kept with --no-prune. Never anything the tool did not apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import workloads
from ..kubectl import Target
from ..settings import Environment
from . import locks
from .plan import DELETE, KEPT
from .restore import name_of

if TYPE_CHECKING:
    from . import Promoter
    from .result import EnvResult


def prune(p: Promoter, env: Environment, target: Target, result: EnvResult) -> None:
    """Delete the objects the plan marks ``delete`` (`workloads.delete_all`); a failure
    is a warning: the new release stands, the objects are listed as kept."""
    result.kept = [f"{item.kind.lower()}/{item.name}" for item in result.others
                   if item.action == KEPT]
    if result.kept:
        p.progress.step(env.name, "prune", f"kept (no prune): {', '.join(result.kept)}")
    doomed = [obj for item in result.others if item.action == DELETE and result.before
              and (obj := result.before.find(item.kind, item.name)) is not None]
    names = [name_of(obj) for obj in doomed]
    if doomed and p.runner.dry_run:
        p.progress.step(env.name, "prune", f"would delete {', '.join(names)}")
    if not doomed or p.runner.dry_run:
        return
    locks.confirm(p, env, "pruning")
    outcome = workloads.delete_all(p.runner, target, doomed, env.timeout)
    if outcome.ok:
        result.pruned = names
        p.progress.step(env.name, "prune", f"deleted {', '.join(names)} (no longer rendered)",
                        "ok")
    else:
        result.kept += names
        p.progress.step(env.name, "prune", f"not deleted: {', '.join(names)}: "
                        f"{outcome.error_line()}", "warn")
