"""Waiting for many workloads at once with one ``kubectl get KIND --watch`` per kind.

Each watch streams the namespace's objects of one kind as JSON events; every event is judged
with ``kubectl rollout status``'s rules (`globepay_tasks.kinds`), and each change of a
workload's `Rollout` is handed on as it is. The number of kubectl
processes depends on the kinds present, not on how many workloads there are, and a verdict is
known as soon as the event that decides it arrives.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import kinds, kubectl
from .kinds import Rollout
from .kubectl import Target, WorkloadRef
from .runner import Runner, Running

#: A watch that ends cleanly (the server closed the stream) is started again this many times.
MAX_RESTARTS = 5
#: How often the waiting thread looks at the watch processes between events.
POLL_SECONDS = 0.05
_MAX_EVENT_CHARS = 16 * 1024 * 1024
_KIND_ORDER = {kind: index for index, kind in enumerate(kinds.WORKLOAD_KINDS)}
#: Called with each new state of an awaited workload.
OnStatus = Callable[[WorkloadRef, Rollout], None]


@dataclass(frozen=True)
class Verdict:
    """The final word on one workload: its status and when (seconds after the wait began);
    ``undecided``: no event decided it (the wait ran out, or the watch itself failed)."""

    status: Rollout
    seconds: float
    last: dict | None = None
    undecided: bool = False


class EventLines:
    """Turns a watch's output lines back into JSON events (one per line, or spread over
    several). Its standard output and error arrive from two threads: a line that cannot be
    part of an event (kubectl's warnings and errors) is left to the command's result."""

    def __init__(self, handle: Callable[[dict], None]) -> None:
        self.handle = handle
        self.buffer = ""
        self._lock = threading.Lock()

    def feed(self, line: str) -> None:
        with self._lock:
            if line.startswith("{"):  # a new event; drop what a cut-off stream left behind
                self.buffer = ""
            elif not self.buffer or not line.startswith((" ", "\t", "}", "]")):
                return
            self.buffer += line
            try:
                event = json.loads(self.buffer)
            except json.JSONDecodeError:
                if len(self.buffer) > _MAX_EVENT_CHARS:
                    self.buffer = ""
                return
            self.buffer = ""
        if isinstance(event, dict):
            self.handle(event)


class Board:
    """The latest status of every awaited workload, shared by the watch threads."""

    def __init__(self, refs: Sequence[WorkloadRef], on_status: OnStatus | None) -> None:
        self.started = time.monotonic()
        self.wanted = set(refs)
        self.on_status = on_status
        self.seen: set[WorkloadRef] = set()
        self.final: dict[WorkloadRef, Verdict] = {}
        self._last: dict[WorkloadRef, Rollout] = {}
        self.changed = threading.Condition()

    def event(self, kind: str, event: dict) -> None:
        """Judge one watch event of ``kind``."""
        obj = event.get("object") or {}
        ref = WorkloadRef(kind, (obj.get("metadata") or {}).get("name", ""))
        if ref not in self.wanted:
            return
        if event.get("type") == "DELETED":
            verdict = kinds.deleted()
        elif event.get("type") in ("ADDED", "MODIFIED"):
            verdict = kinds.rollout({**obj, "kind": kind})
        else:
            return
        with self.changed:  # the state is told before its verdict can end the wait
            if ref in self.final:
                return
            self.seen.add(ref)
            if verdict.message and verdict != self._last.get(ref):
                self._last[ref] = verdict
                if self.on_status:
                    self.on_status(ref, verdict)
            if verdict.done:
                self.final[ref] = Verdict(verdict, time.monotonic() - self.started, obj)
            self.changed.notify_all()

    def fail(self, refs: Sequence[WorkloadRef], status: Rollout) -> None:
        with self.changed:
            for ref in refs:
                self.final.setdefault(ref, Verdict(status, time.monotonic() - self.started,
                                                   undecided=True))
            self.changed.notify_all()

    def pending(self, kind: str | None = None) -> list[WorkloadRef]:
        with self.changed:
            return [ref for ref in self.wanted
                    if ref not in self.final and (kind is None or ref.kind == kind)]

    def settled(self) -> bool:
        """Every workload has its verdict, or one of them failed."""
        with self.changed:
            return len(self.final) == len(self.wanted) or any(
                v.status.failed for v in self.final.values())

    def wait(self, seconds: float) -> None:
        with self.changed:
            if len(self.final) < len(self.wanted) and not any(
                    v.status.failed for v in self.final.values()):
                self.changed.wait(seconds)


class KindWatch:
    """One ``kubectl get KIND --watch`` feeding a `Board`: resumed with the time left after a
    transient error (`Runner.start_within`), started again if the server ends the stream
    while workloads are still pending."""

    def __init__(self, runner: Runner, target: Target, kind: str, board: Board,
                 timeout: float) -> None:
        self.runner, self.target, self.kind, self.board = runner, target, kind, board
        self.timeout = timeout
        self.restarts = 0
        self.running = self._start()

    def _start(self) -> Running:
        lines = EventLines(lambda event: self.board.event(self.kind, event))
        left = max(1.0, self.board.started + self.timeout - time.monotonic())
        return self.runner.start_within(
            lambda seconds: kubectl.watch_workloads(self.target, self.kind, seconds), left,
            on_line=lines.feed)

    def check(self) -> None:
        """If the watch process ended, start it again or fail what it was watching."""
        if not self.running.done():
            return
        result = self.running.join()
        pending = self.board.pending(self.kind)
        if not pending:
            return
        if result.ok and self.restarts < MAX_RESTARTS:
            self.restarts += 1
            self.running = self._start()
            return
        message = result.error_line() if not result.ok else "the watch ended"
        self.board.fail(pending, Rollout("", done=True, error=message))

    def cancel(self) -> None:
        self.running.cancel()


#: The start of the verdict on a workload no watch event named.
NOT_OBSERVED = "not observed"


def not_observed(ref: WorkloadRef, timeout: float) -> str:
    """The verdict on a workload the watch never heard about (the API server sent nothing
    about it: it may not answer, or the workload may not exist)."""
    return f"{NOT_OBSERVED}: no watch event named {ref} within {timeout:g}s"


def wait_for(
    runner: Runner,
    target: Target,
    refs: Sequence[WorkloadRef],
    timeout: float,
    on_status: OnStatus | None = None,
) -> dict[WorkloadRef, Verdict]:
    """Watch ``refs`` until each has rolled out, one has failed, or ``timeout`` has passed.

    Returns a verdict per workload: done, failed with kubectl's message, or, for those still
    pending at the end, "stopped: another workload failed", kubectl's timeout message, or
    `not_observed` for one no event named.
    """
    board = Board(refs, on_status)
    kinds = sorted({ref.kind for ref in refs}, key=_KIND_ORDER.get)
    if runner.dry_run:
        for kind in kinds:
            runner.run(kubectl.watch_workloads(target, kind, timeout))
        return {ref: Verdict(Rollout("dry run", done=True), 0.0) for ref in refs}
    deadline = board.started + timeout
    watches = [KindWatch(runner, target, kind, board, timeout) for kind in kinds]
    try:
        while not board.settled():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            board.wait(min(remaining, POLL_SECONDS))
            for watch in watches:
                watch.check()
    finally:
        for watch in watches:
            watch.cancel()
    failed = any(v.status.failed for v in board.final.values())
    elapsed = time.monotonic() - board.started
    verdicts = dict(board.final)
    for ref in board.pending():
        if failed:
            status = Rollout("", done=True, error="stopped: another workload failed")
        elif ref not in board.seen:
            status = Rollout("", done=True, error=not_observed(ref, timeout))
        else:
            status = ref.rules.timed_out(ref.name)
        verdicts[ref] = Verdict(status, elapsed, undecided=not failed)
    return verdicts
