"""Asking before a run changes an environment that needs confirmation (``confirm: true``).

A promotion asks about an environment when its turn comes, after its plan was shown
(`Confirmation`); without a terminal to ask on it is refused before anything is touched. The
prompt and the terminal check are parameters, so the questions can be tested without one.
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


def confirm_unlock(cluster: str, holder: str, *, ask: Callable[[str], str] = input,
                   has_terminal: Callable[[], bool] = stdin_is_terminal) -> None:
    """Ask before ``unlock --force`` removes a lock its holder renewed within its TTL; a
    `ConfigError` unless the answer is ``y`` or ``yes``, or when there is no terminal."""
    if not has_terminal():
        raise ConfigError(f"{cluster}: removing a lock held by {holder} needs confirmation: "
                          "pass --yes (no terminal to ask on); nothing was removed")
    if ask(f"Remove the lock of {cluster} held by {holder}? Its promotion may still be "
           "running. [y/N] ").strip().lower() not in {"y", "yes"}:
        raise ConfigError(f"{cluster}: not confirmed, nothing was removed")


class Confirmation:
    """The confirmations one promotion run needs: `check` refuses at once when there is no
    terminal to ask on; `ask_for` asks about one environment, after its plan was shown
    (`Promoter.confirm`), once; environments that need none pass."""

    def __init__(self, envs: Sequence[Environment], *, yes: bool, dry_run: bool,
                 ask: Callable[[str], str] = input,
                 has_terminal: Callable[[], bool] = stdin_is_terminal) -> None:
        self.pending = {env.name: env for env in
                        ([] if dry_run else needs_confirmation(envs, yes))}
        self.ask, self.has_terminal = ask, has_terminal

    def check(self) -> None:
        """A `ConfigError` if any environment needs confirmation and there is no terminal."""
        if self.pending and not self.has_terminal():
            names = ", ".join(self.pending)
            raise ConfigError(f"{names} requires confirmation: pass --yes (no terminal to ask "
                              "on)")

    def ask_for(self, env: Environment) -> None:
        """Ask about ``env`` if it needs confirmation (a `ConfigError` unless the answer is
        ``y`` or ``yes``)."""
        pending = self.pending.pop(env.name, None)
        if pending is not None:
            confirm_changes([pending], yes=False, dry_run=False, ask=self.ask,
                            has_terminal=self.has_terminal)
