"""Progress lines a person can follow and CI can grep, plus the record a report is made from."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .redact import Redactor

if TYPE_CHECKING:
    from .kinds import Rollout

COLORS = {"ok": "32", "fail": "31", "warn": "33", "head": "1"}
#: Seconds between "still waiting" lines while workloads roll out.
HEARTBEAT_SECONDS = 10.0


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set to a non-empty value
    (https://no-color.org) or TERM is ``dumb``."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def utc_timestamp(seconds: float | None = None) -> str:
    """``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass
class Step:
    env: str
    name: str
    message: str
    at: float
    status: str = "info"
    details: dict[str, Any] = field(default_factory=dict)


class Readiness:
    """The last readiness line of every awaited workload (``backend 2/3 ready``), and which
    have rolled out. Thread-safe: parallel waits share it."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], str] = {}
        self._done: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def reset(self, env: str, workloads: list[str]) -> None:
        """Forget what earlier waits said about these workloads (a new wait begins)."""
        with self._lock:
            for workload in workloads:
                self._last.pop((env, workload), None)
                self._done.discard((env, workload))

    def pending(self, env: str, workloads: list[str]) -> list[str]:
        """The last readiness of each workload not yet rolled out."""
        with self._lock:
            return [self._last.get((env, w), f"{w} no progress reported yet")
                    for w in workloads if (env, w) not in self._done]

    def line(self, env: str, workload: str, status: Rollout) -> tuple[str, str] | None:
        """(message, status) for a new state of ``workload``; None when it says the same as
        the workload's previous one."""
        if status.failed:
            message, level = f"{workload}: {status.error}", "fail"
        else:
            message = f"{workload} {status.readiness or status.message}"
            level = "ok" if status.done else "info"
        with self._lock:
            if self._last.get((env, workload)) == message:
                return None
            self._last[(env, workload)] = message
            if level == "ok":
                self._done.add((env, workload))
        return message, level


@dataclass(frozen=True)
class CommandRecord:
    """One command the run executed (or, in a dry run, announced): already redacted."""

    command: str
    at: float
    seconds: float
    exit_code: int | None
    dry_run: bool = False


class Progress:
    """Writes one line per step with the elapsed time, and keeps every step for the report.

    Safe to call from several threads (parallel waits): each line is written whole, and
    every line is passed through the run's `Redactor` first.
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None,
                 redactor: Redactor | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.color = use_color(self.stream) if color is None else color
        self.redact = redactor or Redactor()
        self.started = time.monotonic()
        self.started_at = utc_timestamp()
        self.steps: list[Step] = []
        self.commands: list[CommandRecord] = []
        self._readiness = Readiness()
        self._lock = threading.Lock()
        #: why the stream took no more lines ("" while it takes them)
        self.lost = ""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _paint(self, text: str, status: str) -> str:
        code = COLORS.get(status)
        return f"\033[{code}m{text}\033[0m" if self.color and code else text

    def write(self, text: str, status: str = "info") -> None:
        """Print one line. When the stream cannot take it (a full disk, ``ulimit -f``) the
        run goes on without its progress lines (the report still has every step): one
        warning on stderr says so."""
        line = self._paint(self.redact(text), status)
        with self._lock:
            if self.lost:
                return
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except OSError as error:
                self.lost = error.strerror or str(error)
                with suppress(OSError):
                    sys.stderr.write(f"warning: progress lines stopped: {self.lost}\n")

    def step(self, env: str, name: str, message: str, status: str = "info",
             **details: Any) -> None:
        """Record a step and print ``[  1.2s] env  name: message``."""
        at = self.elapsed()
        message = self.redact(message)
        with self._lock:
            self.steps.append(Step(env, name, message, at, status, details))
        self.write(f"[{at:6.1f}s] {env:<8} {name}: {message}", status)

    def output(self, env: str, source: str, line: str) -> None:
        """A line of a command's own output, prefixed with the env and what produced it."""
        self.write(f"[{self.elapsed():6.1f}s] {env:<8} {source} | {line}")

    def rollout(self, env: str, workload: str, status: Rollout) -> None:
        """A workload's new rollout state as a readiness step: ``wait: backend 2/3 ready``
        (a state that reads as the workload's previous one is not repeated)."""
        readiness = self._readiness.line(env, workload, status)
        if readiness:
            self.step(env, "wait", *readiness)

    @contextmanager
    def waiting(self, env: str, workloads: list[str],
                every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
        """While the block runs, say every ``every`` seconds which workloads are still rolling
        out and how far they got, so that a slow rollout never looks like a hung run."""
        self._readiness.reset(env, workloads)
        stop = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not stop.wait(every):
                pending = self._readiness.pending(env, workloads)
                if pending:
                    self.step(env, "wait", f"still waiting after "
                              f"{time.monotonic() - started:.0f}s: {'; '.join(pending)}")

        thread = threading.Thread(target=beat, name=f"heartbeat-{env}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def header(self, text: str) -> None:
        self.write(f"== {text}", "head")

    def command(self, command: str, started: float, exit_code: int | None,
                dry_run: bool = False) -> None:
        """Record a command that ran from monotonic time ``started`` until now."""
        now = time.monotonic()
        record = CommandRecord(self.redact(command), round(started - self.started, 3),
                               round(now - started, 3), exit_code, dry_run)
        with self._lock:
            self.commands.append(record)
