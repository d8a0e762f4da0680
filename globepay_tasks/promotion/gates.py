"""Hooks as gates: a failed pre-promotion hook stops the environment before anything is
changed; a failed post-promotion hook undoes what the run changed (`failure.fail`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import HookFailed
from ..hooks import HookContext, run_hook
from ..settings import Environment
from .failure import fail
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from . import Promoter

PRE, POST = "pre", "post"


def run_hooks(p: Promoter, env: Environment, phase: str, result: EnvResult,
              changes: list[WorkloadChange] | None = None) -> None:
    """Run ``env``'s hooks of ``phase`` in order; the first that fails stops the rest and
    fails the environment (`HookFailed`, exit 3)."""
    hooks = env.pre_promotion if phase == PRE else env.post_promotion
    if not hooks:
        return
    context = HookContext(p.settings, env, p.settings.previous(env.name), phase, p.runner,
                          p.progress)
    for hook in hooks:
        p.progress.step(env.name, f"{phase} hook", hook.label)
        outcome = run_hook(hook, context)
        result.hooks.append(outcome)
        p.progress.step(env.name, f"{phase} hook",
                        f"{hook.label}: {outcome.message} ({outcome.seconds:.1f}s)",
                        "ok" if outcome.ok else "fail")
        if outcome.ok:
            continue
        error = HookFailed(f"{env.name}: {phase}-promotion hook {hook.label!r} failed: "
                           f"{outcome.message}")
        if phase == PRE:
            error.message += "; nothing was changed"
            result.failed_with("failed", error.message, error.exit_code)
            raise error
        fail(p, env, p.target(env), result, changes or [], error)
