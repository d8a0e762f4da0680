"""The interrupt registry shared by the local and the SSH runners: the commands running now,
the `Running` each thread works for, and the interrupt that stops them all (but the writes:
those are let finish, within a bound, so that the run knows what it changed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Owner(Protocol):
    """What a thread works for (`globepay_tasks.runner.Running`): the commands it started,
    and whether it was cancelled."""

    processes: list[Any]
    cancelled: bool


class _Active:
    """The commands running right now (local or remote), so that an interrupt can stop them;
    each with its grace (seconds an interrupt lets it go on: a write; None: stopped at once).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[Any, float | None] = {}
        #: writes an interrupt let go on, until they have ended
        self._finishing: set[Any] = set()

    def add(self, runner: Any, grace: float | None = None) -> None:
        with self._lock:
            self._runners[runner] = grace

    def discard(self, runner: Any) -> None:
        with self._lock:
            self._runners.pop(runner, None)

    def terminate_all(self) -> None:
        """Stop every command but the writes; stop each write when its grace is over."""
        with self._lock:
            runners = list(self._runners.items())
        for runner, grace in runners:
            if grace is None:
                runner.terminate()
                continue
            with self._lock:
                if runner in self._finishing:
                    continue
                self._finishing.add(runner)
            timer = threading.Timer(grace, runner.terminate)
            timer.daemon = True
            timer.start()

    def settle(self, limit: float) -> None:
        """Wait until the writes an interrupt let go on have ended (at most ``limit``
        seconds: each is stopped when its grace is over)."""
        deadline = time.monotonic() + limit
        while True:
            with self._lock:
                self._finishing = {r for r in self._finishing if not r.process_is_finished}
                if not self._finishing or time.monotonic() >= deadline:
                    return
            time.sleep(0.05)


ACTIVE = _Active()
_THREAD = threading.local()
INTERRUPT = threading.Event()


def thread_owner() -> Owner | None:
    """The `Running` the calling thread works for (None outside one)."""
    return getattr(_THREAD, "owner", None)


def set_thread_owner(owner: Owner) -> None:
    """Make the calling thread work for ``owner``: the commands it starts belong to it."""
    _THREAD.owner = owner


@contextmanager
def writing(grace: float | None) -> Iterator[None]:
    """The commands the calling thread starts in the block write to a cluster (``grace``
    not None): an interrupt lets each finish, and stops it only ``grace`` seconds later."""
    previous = getattr(_THREAD, "grace", None)
    _THREAD.grace = grace
    try:
        yield
    finally:
        _THREAD.grace = previous


def track(process: Any) -> None:
    """Register a started command (anything with ``terminate()`` and Invoke's
    ``process_is_finished``) with the interrupt handling and with the `Running` that started
    it, stopping it at once if that was cancelled."""
    ACTIVE.add(process, getattr(_THREAD, "grace", None))
    owner = thread_owner()
    if owner is not None:
        owner.processes.append(process)
        if owner.cancelled:
            process.terminate()


def request_interrupt() -> None:
    """Mark the run as interrupted and stop every running command (a write once it has
    ended, or its grace is over)."""
    INTERRUPT.set()
    ACTIVE.terminate_all()


def settle_writes(limit: float) -> None:
    """Wait (at most ``limit`` seconds) for the writes an interrupt let go on: what they
    changed is then in the cluster for the undo to read."""
    ACTIVE.settle(limit)


def clear_interrupt() -> None:
    """Allow commands again (the rollback after an interrupt)."""
    INTERRUPT.clear()
