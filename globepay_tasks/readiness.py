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
        self._lock = threading.Lock()

    def line(self, env: str, workload: str, text: str) -> tuple[str, str]:
        """(message, status) for one line of ``kubectl rollout status`` about ``workload``."""
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
