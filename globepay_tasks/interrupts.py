"""The interrupt registry shared by the local and the SSH runners: the commands running now,
the `Running` each thread works for, and the interrupt that stops them all."""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Owner(Protocol):
    """What a thread works for (`globepay_tasks.runner.Running`): the commands it started,
    and whether it was cancelled."""

    processes: list[Any]
    cancelled: bool


class _Active:
    """The commands running right now (local or remote), so that an interrupt can stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: set[Any] = set()

    def add(self, runner: Any) -> None:
        with self._lock:
            self._runners.add(runner)

    def discard(self, runner: Any) -> None:
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


def thread_owner() -> Owner | None:
    """The `Running` the calling thread works for (None outside one)."""
    return getattr(_THREAD, "owner", None)


def set_thread_owner(owner: Owner) -> None:
    """Make the calling thread work for ``owner``: the commands it starts belong to it."""
    _THREAD.owner = owner


def track(process: Any) -> None:
    """Register a started command (anything with ``terminate()``) with the interrupt handling
    and with the `Running` that started it, stopping it at once if that was cancelled."""
    ACTIVE.add(process)
    owner = thread_owner()
    if owner is not None:
        owner.processes.append(process)
        if owner.cancelled:
            process.terminate()


def request_interrupt() -> None:
    """Mark the run as interrupted and stop every running local command."""
    INTERRUPT.set()
    ACTIVE.terminate_all()


def clear_interrupt() -> None:
    """Allow commands again (the rollback after an interrupt)."""
    INTERRUPT.clear()
