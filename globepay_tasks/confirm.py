"""Asking before a run changes an environment that needs confirmation (``confirm: true``).

The prompt and the terminal check are parameters, so the questions can be tested without one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from .errors import ConfigError
from .promotion import needs_confirmation
from .settings import Environment


def stdin_is_terminal() -> bool:
    """Whether standard input (as it is when asked) is a terminal to ask on."""
    return sys.stdin.isatty()


def question(env: Environment) -> str:
    """``Change prod (namespace globepay-prod, context globepay-prod)? [y/N] ``."""
    contexts = ", ".join(part.context or "current" for part in env.clusters())
    return f"Change {env.name} (namespace {env.namespace}, context {contexts})? [y/N] "


def confirm_changes(envs: Sequence[Environment], *, yes: bool, dry_run: bool,
                    ask: Callable[[str], str] = input,
                    has_terminal: Callable[[], bool] = stdin_is_terminal) -> None:
    """Ask through ``ask`` about each environment of ``envs`` that needs confirmation (none
    with ``yes`` or ``dry_run``); a `ConfigError` unless every answer is ``y`` or ``yes``,
    or when there is no terminal to ask on."""
    pending = [] if dry_run else needs_confirmation(envs, yes)
    if not pending:
        return
    if not has_terminal():
        names = ", ".join(env.name for env in pending)
        raise ConfigError(f"{names} requires confirmation: pass --yes (no terminal to ask on)")
    for env in pending:
        if ask(question(env)).strip().lower() not in {"y", "yes"}:
            raise ConfigError(f"{env.name}: not confirmed, nothing was changed")
