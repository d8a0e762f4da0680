"""Pre- and post-promotion hooks: shell commands, argument lists, HTTP checks, Python calls."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any

from .command_result import SSH_FAILED, TIMED_OUT
from .kubectl import Target
from .progress import Progress
from .runner import Runner
from .settings import Environment, Hook, Settings

OUTPUT_TAIL_LINES = 20


class CheckFailed(Exception):
    """Raised by a Python hook to fail with a one-line reason."""


@dataclass(frozen=True)
class HookContext:
    """What a Python hook is given: the environment, its predecessor, and a way to run kubectl
    (``runner.at(target(env))`` runs a command where that environment's kubectl runs)."""

    settings: Settings
    env: Environment
    previous: Environment | None
    phase: str
    runner: Runner
    progress: Progress

    def target(self, env: Environment | None = None) -> Target:
        return self.settings.target(env or self.env)

    def say(self, message: str) -> None:
        self.progress.step(self.env.name, "check", message)


@dataclass(frozen=True)
class HookResult:
    hook: str
    phase: str
    ok: bool
    message: str
    seconds: float
    output_tail: str = ""


def hook_environment(env: Environment, previous: Environment | None) -> dict[str, str]:
    """The variables every hook sees."""
    return {
        "GLOBEPAY_ENV": env.name,
        "GLOBEPAY_NAMESPACE": env.namespace,
        "GLOBEPAY_CONTEXT": env.context or "",
        "GLOBEPAY_PREVIOUS_ENV": previous.name if previous else "",
    }


def run_hook(hook: Hook, context: HookContext) -> HookResult:
    """Run one hook; failures come back as a result with ``ok=False``, never as an exception."""
    started = time.monotonic()
    runner = context.runner
    name = hook.label
    if runner.dry_run and hook.kind in ("http", "python"):
        runner.announce(f"+ {hook.kind} hook: {name}")
        return HookResult(name, context.phase, True, "dry run", 0.0)
    try:
        if hook.kind in ("shell", "exec"):
            ok, message, tail = _run_command(hook, context)
        elif hook.kind == "http":
            ok, message, tail = _run_http(hook)
        else:
            ok, message, tail = _run_python(hook, context)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # a hook's own bug is a failed hook, not a crash
        ok, message, tail = False, f"{type(error).__name__}: {error}", ""
    return HookResult(name, context.phase, ok, message, time.monotonic() - started, tail)


def _run_command(hook: Hook, context: HookContext) -> tuple[bool, str, str]:
    lines: list[str] = []

    def sink(line: str) -> None:
        lines.append(line)
        context.progress.output(context.env.name, "hook", line)

    argv: Any = hook.target if isinstance(hook.target, str) else list(hook.target)
    runner = context.runner.at(context.target()) if hook.remote else context.runner
    result = runner.run(
        argv, timeout=hook.timeout, on_line=sink,
        env=hook_environment(context.env, context.previous),
    )
    tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
    if result.ok:
        return True, "passed", tail
    if result.exit_code == TIMED_OUT:
        return False, f"timed out after {hook.timeout:g}s", tail
    if result.exit_code == SSH_FAILED and runner.remote:
        return False, result.error_line(), tail
    if result.exit_code == 127:
        return False, f"command not found ({result.error_line()})", tail
    return False, f"exited {result.exit_code}", tail


def _run_http(hook: Hook) -> tuple[bool, str, str]:
    import urllib.error  # here, not at the top: off the start-up path of every task
    import urllib.request

    assert isinstance(hook.target, str)
    timeout = hook.timeout or 10.0
    last = ""
    for attempt in range(hook.retries + 1):
        if attempt:
            time.sleep(min(2.0, 0.25 * 2**attempt))
        try:
            with urllib.request.urlopen(hook.target, timeout=timeout) as response:
                status, body = response.status, response.read(2048)
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read(2048) if error.fp else b""
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            last = f"unreachable: {reason}"
            continue
        tail = body.decode("utf-8", "replace")
        if status == hook.expect:
            return True, f"HTTP {status}", tail
        last = f"HTTP {status}, expected {hook.expect}"
    return False, last, ""


def _run_python(hook: Hook, context: HookContext) -> tuple[bool, str, str]:
    assert isinstance(hook.target, str)
    module_name, _, attribute = hook.target.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        return False, f"cannot load {hook.target}: {error}", ""
    try:
        outcome = target(context)
    except CheckFailed as failure:
        return False, str(failure), ""
    if outcome is False:
        return False, "returned False", ""
    return True, outcome if isinstance(outcome, str) else "passed", ""
