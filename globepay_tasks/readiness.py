"""Short readiness lines (``backend 2/3 ready``) from ``kubectl rollout status`` progress lines."""

from __future__ import annotations

import re
import threading

_QUOTED = r'(?:deployment|daemon set) "[^"]+" '
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"rollout to finish: (\d+) of (\d+) updated (?:replicas|pods) are available"),
     "{0}/{1} ready"),
    (re.compile(r"(\d+) out of (\d+) new (?:replicas|pods) have been updated"), "{0}/{1} updated"),
    (re.compile(r"rollout to finish: (\d+) old replicas are pending termination"),
     "{0} old replicas pending termination"),
    (re.compile(r"^Waiting for (\d+) pods to be ready"), "{0} pods not ready yet"),
    (re.compile(r"rolling update to complete (\d+) pods at revision"), "{0} pods updated"),
    (re.compile(r"spec update to be observed"), "waiting for the controller"),
)
_DONE = re.compile(rf"^{_QUOTED}successfully rolled out|rolling update complete|"
                   r"roll out complete")


class ReadinessTracker:
    """Turns each workload's rollout status lines into ``NAME x/y ready``-style text.

    Remembers the last replica total per workload so that the final "successfully rolled out"
    becomes ``backend 3/3 ready``. Thread-safe: parallel waits share one tracker.
    """

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str], str] = {}
        self._last: dict[tuple[str, str], str] = {}
        self._done: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def reset(self, env: str, workloads: list[str]) -> None:
        """Forget what earlier waits said about these workloads (a new wait begins)."""
        with self._lock:
            for workload in workloads:
                self._totals.pop((env, workload), None)
                self._last.pop((env, workload), None)
                self._done.discard((env, workload))

    def pending(self, env: str, workloads: list[str]) -> list[str]:
        """The last readiness of each workload not yet rolled out."""
        with self._lock:
            return [self._last.get((env, w), f"{w} no progress reported yet")
                    for w in workloads if (env, w) not in self._done]

    def line(self, env: str, workload: str, text: str) -> tuple[str, str] | None:
        """(message, status) for one line of ``kubectl rollout status`` about ``workload``;
        None when it says the same as the workload's previous line."""
        message, status = self._translate(env, workload, text)
        with self._lock:
            if self._last.get((env, workload)) == message:
                return None
            self._last[(env, workload)] = message
            if status == "ok":
                self._done.add((env, workload))
        return message, status

    def _translate(self, env: str, workload: str, text: str) -> tuple[str, str]:
        text = text.strip()
        key = (env, workload)
        if _DONE.search(text):
            with self._lock:
                total = self._totals.get(key)
            return (f"{workload} {total}/{total} ready" if total else f"{workload} rolled out",
                    "ok")
        for pattern, template in _RULES:
            match = pattern.search(text)
            if match:
                if "/" in template:
                    with self._lock:
                        self._totals[key] = match.group(2)
                return f"{workload} {template.format(*match.groups())}", "info"
        status = "fail" if text.lower().startswith("error") else "info"
        return f"{workload}: {text}", status
