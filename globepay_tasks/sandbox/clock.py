"""The simulated clock shared by one sandbox's controllers.

Simulated time starts at 0 when the clock is created and runs ``time_scale`` times faster
than real (monotonic) time; :meth:`SimClock.advance` jumps it forward. Controllers measure
rollout durations and progress deadlines on this clock. Timestamps written into objects
(``creationTimestamp``, condition times) are wall-clock UTC, so ``kubectl get`` shows
sensible ages.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class SimClock:
    """Monotonic simulated seconds, scaled and advanceable."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._scale = float(time_scale)
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def time_scale(self) -> float:
        """How many simulated seconds pass per real second."""
        return self._scale

    def now(self) -> float:
        """Simulated seconds since the clock was created."""
        with self._lock:
            return (time.monotonic() - self._start) * self._scale + self._offset

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward by ``seconds`` (negative values are ignored)."""
        if seconds > 0:
            with self._lock:
                self._offset += seconds

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds until ``sim_seconds`` of simulated time have passed."""
        return max(sim_seconds, 0.0) / self._scale


def rfc3339(moment: float | None = None) -> str:
    """Wall-clock UTC timestamp in the form Kubernetes uses (``2024-05-01T12:00:00Z``)."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
