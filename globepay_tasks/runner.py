"""The one place commands run: an Invoke Context locally (a Fabric Connection remotely).

Dry-run stops here: a command that would touch a cluster is printed, not run.
"""

from __future__ import annotations

import copy
import io
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from subprocess import PIPE, Popen
from typing import TYPE_CHECKING, Any

from invoke.exceptions import CommandTimedOut
from invoke.runners import Local

from . import interrupts
from .command_result import NO_ANSWER, TIMED_OUT, CommandResult
from .interrupts import ACTIVE, INTERRUPT, request_interrupt, set_thread_owner, thread_owner, track
from .kubectl import Target, call, join_argv, verb
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .hosts import Remote
    from .remote import SshExecutor

LineSink = Callable[[str], None]
#: Seconds beyond its request timeout a kubectl read may take, and an interrupt lets a
#: running write go on (kubectl's start and its last answer).
MARGIN = 2.0


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
        track(self)

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
        """Nothing: Invoke flushes after every chunk it reads, which may end mid-line."""

    def end(self) -> None:
        """The command ended: pass on what is left of its last line."""
        if self.buffer.strip():
            self.sink(self.buffer)
        self.buffer = ""


class _WholeStream(io.StringIO):
    """Standard input handed over in one read (Invoke reads other streams byte by byte)."""

    def read(self, size: int | None = -1) -> str:
        return super().read()


class Runner:
    """Runs argument lists through an Invoke Context (or Fabric Connection).

    ``dry_run``: commands that would reach a cluster are announced through ``announce``
    and answered with an empty success; local-only commands (rendering) still run.
    `at` gives the runner for a `Target`: this one, or a copy of it whose commands run on
    the target's host (``remote``) over SSH. ``retry``: how often a command marked idempotent
    is retried after a transient failure. A kubectl read is stopped `MARGIN` seconds after
    its ``--request-timeout``; a write an interrupt catches running is let finish for as
    long, so that the run sees what it changed.
    """

    retry: RetryPolicy = RetryPolicy()

    #: The host this runner's commands run on (None: here).
    remote: Remote | None = None
    _ssh: SshExecutor | None = None

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
        self._local = self
        self._remotes: dict[Remote, Runner] = {}
        self._remotes_lock = threading.Lock()
        self._reader: Runner | None = None
        config = getattr(context, "config", None)
        runners = getattr(config, "runners", None)
        if runners is not None and getattr(runners, "local", None) is Local:
            runners.local = SessionLocal

    def at(self, target: Target) -> Runner:
        """The runner for ``target``'s commands: the local one, or (``target.remote``) a copy
        of it running them on that host over SSH. Nothing connects before a command runs.
        Every function given a runner and a target runs that target's commands through it."""
        if target.remote is None:
            return self._local
        with self._remotes_lock:
            if target.remote not in self._remotes:
                from .remote import SshExecutor

                runner = copy.copy(self._local)
                runner.remote, runner.host = target.remote, str(target.remote)
                runner._ssh = SshExecutor(target.remote, self.announce)
                self._remotes[target.remote] = runner
            return self._remotes[target.remote]

    @property
    def reader(self) -> Runner:
        """The runner for commands that only read (``get``, ``version``, a server-side dry
        run): this one, or in a dry run a copy that runs them, so that a dry run shows what
        the cluster would change while it writes nothing."""
        if not self.dry_run:
            return self
        with self._remotes_lock:
            if self._reader is None:
                reader = copy.copy(self)
                reader.dry_run, reader._local, reader._remotes = False, reader, {}
                reader._remotes_lock, reader._reader = threading.Lock(), None
                self._reader = reader
            return self._reader

    def close(self) -> None:
        """Close the SSH connections opened through `at` (and through `reader`)."""
        if self._reader is not None:
            self._reader.close()
        with self._remotes_lock:
            remotes = list(self._remotes.values())
            self._remotes.clear()
        for runner in remotes:
            if runner._ssh is not None:
                runner._ssh.close()

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
        return Running(lambda: self.run(argv, timeout=timeout, on_line=on_line), argv)

    def start_within(
        self,
        make_argv: Callable[[float], Sequence[str]],
        seconds: float,
        *,
        on_line: LineSink | None = None,
    ) -> Running:
        """`run_within` in the background."""
        return Running(lambda: self.run_within(make_argv, seconds, on_line=on_line),
                       make_argv(seconds))

    def run_within(
        self,
        make_argv: Callable[[float], Sequence[str]],
        seconds: float,
        *,
        on_line: LineSink | None = None,
    ) -> CommandResult:
        """Run a waiting command (``make_argv(seconds_left)``) within ``seconds`` in all.

        When it fails transiently (a dropped watch, a 5xx, a refused connection) it is started
        again with only the time that is left, up to ``retry.attempts`` times in all.
        """
        deadline = time.monotonic() + seconds
        attempt = 1
        while True:
            left = deadline - time.monotonic()
            argv = make_argv(left)
            result = self.run(argv, timeout=left + 5, on_line=on_line)
            left = deadline - time.monotonic()
            owner = thread_owner()
            if (not result.transient or attempt >= self.retry.attempts or left < 1
                    or (owner is not None and owner.cancelled)):
                return result
            pause = min(self.retry.delay(attempt), max(0.0, left - 1))
            self.announce(f"transient error ({result.error_line()}): {verb(argv)} "
                          f"resumed in {pause:g}s with {left - pause:.0f}s of its timeout "
                          f"left (attempt {attempt + 1} of {self.retry.attempts})")
            self.pause(pause)
            attempt += 1

    @staticmethod
    def pause(seconds: float) -> None:
        """Sleep ``seconds``; an interrupt ends the sleep with `KeyboardInterrupt`."""
        if INTERRUPT.wait(seconds):
            raise KeyboardInterrupt

    def run(
        self,
        argv: Sequence[str] | str,
        *,
        local_only: bool = False,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineSink | None = None,
        stdin: str | None = None,
        cleanup: bool = False,
        idempotent: bool = False,
    ) -> CommandResult:
        """Run one command to its end and return its result; never raises on exit codes.

        A string is a shell command line (hooks); a list is quoted with `shlex`. ``stdin`` is
        written to the command's standard input (otherwise it has none). A ``cleanup``
        command (removing temporary files) runs even while an interrupt is pending.
        ``idempotent`` commands (get, apply, diff) are retried after a transient failure,
        with a line saying so.
        """
        attempt = 1
        while True:
            result = self._run_once(argv, local_only=local_only, timeout=timeout, env=env,
                                    on_line=on_line, stdin=stdin, cleanup=cleanup)
            if not (idempotent and result.transient and attempt < self.retry.attempts):
                return result
            pause = self.retry.delay(attempt)
            self.announce(f"transient error ({result.error_line()}): {verb(argv)} retried in "
                          f"{pause:g}s (attempt {attempt + 1} of {self.retry.attempts})")
            self.pause(pause)
            attempt += 1

    def _run_once(
        self,
        argv: Sequence[str] | str,
        *,
        local_only: bool,
        timeout: float | None,
        env: Mapping[str, str] | None,
        on_line: LineSink | None,
        stdin: str | None,
        cleanup: bool,
    ) -> CommandResult:
        command = argv if isinstance(argv, str) else join_argv(argv)
        if INTERRUPT.is_set() and not cleanup:
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
        if stdin is not None:
            options["in_stream"] = _WholeStream(stdin)
        kind, limit = call(argv)
        bound = limit and limit + MARGIN
        if timeout is None and kind == "read":  # kubectl goes on past a type not answered
            timeout = bound
        if timeout is not None:
            options["timeout"] = max(1, int(timeout + 0.999))
        said = f"\n{NO_ANSWER} {options['timeout']}s" if kind == "read" and timeout else ""
        started = time.monotonic()
        try:
            with interrupts.writing(bound if kind == "write" else None):
                result = self._execute(command, options)
        except CommandTimedOut as timed_out:
            result = timed_out.result
            return CommandResult(command, TIMED_OUT, result.stdout, result.stderr + said)
        finally:
            if on_line is not None:
                out.end()
                err.end()
        if INTERRUPT.is_set() and not cleanup:
            raise KeyboardInterrupt
        if result is None:
            return CommandResult(command, 0)
        if (timeout is not None and result.exited != 0
                and time.monotonic() - started >= options["timeout"]):
            # Invoke's timer killed it (over SSH: closed the channel, exit -1) but had not
            # finished when Invoke asked whether it timed out
            return CommandResult(command, TIMED_OUT, result.stdout, result.stderr + said)
        return CommandResult(command, result.exited, result.stdout, result.stderr)

    def _execute(self, command: str, options: dict[str, Any]) -> Any:
        """Hand the command to Invoke, here or over SSH (an Invoke ``Result``, or None from a
        mock)."""
        if self._ssh is not None:
            return self._ssh.run(command, options)
        return self.context.run(command, **options)


class Running:
    """Command work (``work()`` runs one or more commands) in a thread of its own, which
    `cancel` stops."""

    def __init__(self, work: Callable[[], CommandResult], argv: Sequence[str]) -> None:
        self.command = join_argv(argv)
        self.cancelled = False
        self.processes: list[Any] = []
        self._result: CommandResult | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(work,), daemon=True)
        self._thread.start()

    def _main(self, work: Callable[[], CommandResult]) -> None:
        set_thread_owner(self)
        try:
            self._result = work()
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
