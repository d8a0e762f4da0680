"""The one place commands run: an Invoke Context locally (a Fabric Connection remotely).

Dry-run stops here: a command that would touch a cluster is printed, not run.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from subprocess import PIPE, Popen
from typing import Any

from invoke.exceptions import CommandTimedOut
from invoke.runners import Local

from .kubectl import join_argv

LineSink = Callable[[str], None]

#: Exit code reported for a command stopped by its timeout (as coreutils' timeout does).
TIMED_OUT = 124


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def error_line(self) -> str:
        """The last non-empty line of stderr (or stdout): kubectl's own error message."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return f"exit code {self.exit_code}"


class SessionLocal(Local):
    """Invoke's local runner, starting each command in its own process group.

    The group can then be stopped as a whole (a hook's shell and its children), and an
    interrupt stops the command instead of only being forwarded to its stdin.
    """

    def start(self, command: str, shell: str, env: dict[str, Any]) -> None:
        self.process = Popen(
            command, shell=True, executable=shell, env=env,
            stdout=PIPE, stderr=PIPE, stdin=PIPE, start_new_session=True,
        )
        ACTIVE.add(self)
        owner = getattr(_THREAD, "owner", None)
        if owner is not None:
            owner.processes.append(self)
            if owner.cancelled:
                self.terminate()

    def terminate(self) -> None:
        """SIGTERM to the whole group, SIGKILL if it is still there a moment later."""
        process = getattr(self, "process", None)
        if process is None or process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    return
                time.sleep(0.02)

    _killed_by_timer = False

    def kill(self) -> None:
        """Called by Invoke's timeout timer."""
        self._killed_by_timer = True
        self.terminate()

    @property
    def timed_out(self) -> bool:
        return self._killed_by_timer

    def send_interrupt(self, interrupt: KeyboardInterrupt) -> None:
        request_interrupt()

    def stop(self) -> None:
        super().stop()
        ACTIVE.discard(self)


class _Active:
    """The local commands running right now, so that an interrupt can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: set[SessionLocal] = set()

    def add(self, runner: SessionLocal) -> None:
        with self._lock:
            self._runners.add(runner)

    def discard(self, runner: SessionLocal) -> None:
        with self._lock:
            self._runners.discard(runner)

    def terminate_all(self) -> None:
        with self._lock:
            runners = list(self._runners)
        for runner in runners:
            runner.terminate()


ACTIVE = _Active()
_THREAD = threading.local()
INTERRUPT = threading.Event()


def request_interrupt() -> None:
    """Mark the run as interrupted and stop every running local command."""
    INTERRUPT.set()
    ACTIVE.terminate_all()


def clear_interrupt() -> None:
    """Allow commands again (the rollback after an interrupt)."""
    INTERRUPT.clear()


class _LineWriter:
    """A file-like sink passing complete lines to a callback (Invoke's ``out_stream``)."""

    def __init__(self, sink: LineSink) -> None:
        self.sink = sink
        self.buffer = ""

    def write(self, data: str) -> int:
        self.buffer += data
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if line.strip():
                self.sink(line)
        return len(data)

    def flush(self) -> None:
        if self.buffer.strip():
            self.sink(self.buffer)
        self.buffer = ""


class Runner:
    """Runs argument lists through an Invoke Context (or Fabric Connection).

    ``dry_run``: commands that would reach a cluster are announced through ``announce``
    and answered with an empty success; local-only commands (rendering) still run.
    """

    def __init__(
        self,
        context: Any,
        *,
        dry_run: bool = False,
        announce: LineSink = print,
        host: str | None = None,
    ) -> None:
        self.context = context
        self.dry_run = dry_run
        self.announce = announce
        self.host = host
        config = getattr(context, "config", None)
        runners = getattr(config, "runners", None)
        if runners is not None and getattr(runners, "local", None) is Local:
            runners.local = SessionLocal

    def describe(self, argv: Sequence[str] | str) -> str:
        command = argv if isinstance(argv, str) else join_argv(argv)
        return f"[{self.host}] {command}" if self.host else command

    def start(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        on_line: LineSink | None = None,
    ) -> Running:
        """Start a command in the background; `Running.join` gives its result."""
        return Running(self, argv, timeout=timeout, on_line=on_line)

    def run(
        self,
        argv: Sequence[str] | str,
        *,
        local_only: bool = False,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineSink | None = None,
    ) -> CommandResult:
        """Run one command to its end and return its result; never raises on exit codes.

        A string is a shell command line (hooks); a list is quoted with `shlex`.
        """
        command = argv if isinstance(argv, str) else join_argv(argv)
        if INTERRUPT.is_set():
            raise KeyboardInterrupt
        if self.dry_run and not local_only:
            self.announce(f"+ {self.describe(command)}")
            return CommandResult(command, 0)
        options: dict[str, Any] = {"warn": True, "in_stream": False, "echo": False}
        if on_line is None:
            options["hide"] = True
        else:
            out, err = _LineWriter(on_line), _LineWriter(on_line)
            options.update(hide=False, out_stream=out, err_stream=err)
        if env:
            options["env"] = dict(env)
        if timeout is not None:
            options["timeout"] = max(1, int(timeout + 0.999))
        try:
            result = self.context.run(command, **options)
        except CommandTimedOut as timed_out:
            result = timed_out.result
            return CommandResult(command, TIMED_OUT, result.stdout, result.stderr)
        if on_line is not None:
            out.flush()
            err.flush()
        if INTERRUPT.is_set():
            raise KeyboardInterrupt
        if result is None:
            return CommandResult(command, 0)
        return CommandResult(command, result.exited, result.stdout, result.stderr)



class Running:
    """A command running in a thread of its own, which `cancel` stops."""

    def __init__(
        self,
        runner: Runner,
        argv: Sequence[str],
        *,
        timeout: float | None,
        on_line: LineSink | None,
    ) -> None:
        self.command = join_argv(argv)
        self.cancelled = False
        self.processes: list[SessionLocal] = []
        self._result: CommandResult | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(runner, argv, timeout, on_line), daemon=True
        )
        self._thread.start()

    def _main(self, runner: Runner, argv: Sequence[str], timeout: float | None,
              on_line: LineSink | None) -> None:
        _THREAD.owner = self
        try:
            self._result = runner.run(argv, timeout=timeout, on_line=on_line)
        except BaseException as error:  # noqa: BLE001 - handed to join()
            self._error = error
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def join(self) -> CommandResult:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def cancel(self) -> None:
        """Stop the command (its process group) if it is still running."""
        self.cancelled = True
        for process in self.processes:
            process.terminate()
