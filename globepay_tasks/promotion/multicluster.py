"""Environments of several clusters (``targets``): a layer around the per-environment deploy.

Each target is an `Environment` of its own (``prod/eu``: the target's context and host) and
is deployed by `Promoter.deploy`, all targets in parallel threads. The environment's
pre-promotion hooks run once before; its post-promotion hooks run per target. The env succeeds
only if every target does; when one fails, every other target that changed is rolled back.
Each target keeps its lock until then, and its history record tells its final outcome.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import TYPE_CHECKING

from ..errors import Interrupted, PromotionError, RollbackFailed
from ..interrupts import clear_interrupt, request_interrupt
from ..manifests import Rendered
from ..settings import Environment
from .plan import CHANGE, CREATE, REPLACE
from .result import EnvResult

#: The plan's actions that write to the cluster (besides a prune).
WRITES = (CREATE, CHANGE, REPLACE)

if TYPE_CHECKING:
    from . import Promoter


class _TargetRun:
    """One target deployed by a copy of the promoter (its own results), in a thread."""

    def __init__(self, promoter: Promoter, env: Environment, rendered: Rendered,
                 options: dict[str, str]) -> None:
        self.promoter = copy.copy(promoter)
        self.promoter.results = []
        self.promoter.endings = []
        self.env = env
        self.undone = False
        self.error: PromotionError | None = None
        self.crash: BaseException | None = None
        self.thread = threading.Thread(target=self._main, args=(rendered, options),
                                       daemon=True, name=f"deploy {env.name}")

    def _main(self, rendered: Rendered, options: dict[str, str]) -> None:
        try:
            self.promoter.deploy(self.env, rendered, **options)
        except PromotionError as error:
            self.error = error
        except BaseException as error:  # noqa: BLE001 - re-raised by the coordinator
            self.crash = error

    @property
    def result(self) -> EnvResult:
        return self.promoter.results[0]

    @property
    def changed(self) -> bool:
        """The run wrote something: a workload's pod template, another object, a prune."""
        result = self.result
        return (any(change.changed for change in result.changes) or bool(result.pruned)
                or any(item.action in WRITES for item in [*result.plan, *result.others]))

    def close(self) -> None:
        """Record the target's outcome and release its lock (left for now by its deploy)."""
        while self.promoter.endings:
            self.promoter.endings.pop(0).close(self.promoter, undone=self.undone)


def _join(runs: list[_TargetRun]) -> bool:
    """Wait for every run; an interrupt stops their commands. True if one came."""
    interrupted = False
    for run in runs:
        while run.thread.is_alive():
            try:
                run.thread.join(0.1)
            except KeyboardInterrupt:
                interrupted = True
                request_interrupt()
    return interrupted


def _combined(env: Environment, errors: list[PromotionError]) -> PromotionError:
    """One error for the environment: RollbackFailed if any undo failed, else the first's kind."""
    message = f"{env.name}: " + "; ".join(error.message for error in errors)
    if any(isinstance(error, RollbackFailed) for error in errors):
        return RollbackFailed(message)
    return type(errors[0])(message)


def deploy(promoter: Promoter, env: Environment, rendered: Rendered,
           **options: str) -> EnvResult:
    """Deploy ``env``: directly, or every target at once (one after another in a dry run);
    ``options`` go to `Promoter.deploy`. The environment's result: it runs what its first
    target runs."""
    if not env.targets:
        return promoter.deploy(env, rendered, **options)
    started = time.monotonic()
    parts = env.clusters()
    summary = EnvResult(env.name, options.get("action", "deploy"), env.namespace,
                        source=options.get("source", ""))
    promoter.results.append(summary)
    for part in parts:
        promoter.requested[part.name] = promoter.requested.get(env.name, {})
    runs: list[_TargetRun] = []
    try:
        promoter.progress.header(
            f"{env.name}: {len(parts)} clusters ({', '.join(p.name for p in parts)})")
        if promoter.confirm is not None:  # once for all its clusters, before any of them
            promoter.confirm(env)
        promoter.gate(env, summary)
        runs += [_TargetRun(promoter, part, rendered, options) for part in parts]
        for run in runs:
            run.thread.start()
            if promoter.runner.dry_run:
                run.thread.join()
        interrupted = _join(runs)
        promoter.results.extend(run.result for run in runs)
        for run in runs:
            if run.crash is not None:
                raise run.crash
        failed = [run for run in runs if run.error is not None]
        if not failed and not interrupted:
            summary.outcome = "dry run" if promoter.runner.dry_run else "succeeded"
            summary.running = runs[0].result.running
            return summary
        cause = "interrupted" if interrupted else (
            f"{', '.join(run.env.name for run in failed)} failed")
        kind = Interrupted if interrupted else type(failed[0].error)
        errors = [run.error for run in failed]
        clear_interrupt()  # the rollbacks below must run
        for run in runs:
            if run.error is None and run.changed:
                run.undone = True
                try:
                    run.promoter.revert(run.env, run.result, kind(
                        f"{run.env.name}: undone because {cause}"))
                except PromotionError as error:
                    errors.append(error)
        error = _combined(env, errors) if errors else Interrupted(f"{env.name}: interrupted")
        if interrupted and not isinstance(error, RollbackFailed):
            error = Interrupted(error.message)
        summary.outcome = "rollback failed" if isinstance(error, RollbackFailed) else "failed"
        summary.reason, summary.exit_code = error.message, error.exit_code
        raise error
    finally:
        for run in runs:
            run.close()
        summary.seconds = time.monotonic() - started


def rollback(promoter: Promoter, env: Environment, *, to_revision: int | None = None,
             only: str | None = None, to_release: str | None = None) -> None:
    """`Promoter.rollback` for ``env``, or for each of its targets in turn (all are tried)."""
    errors = []
    for part in env.clusters():
        try:
            promoter.rollback(part, to_revision=to_revision, only=only, to_release=to_release)
        except PromotionError as error:
            if not env.targets:
                raise
            errors.append(error)
    if errors:
        raise _combined(env, errors)
