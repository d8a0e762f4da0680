"""Fault injection: make matching requests fail, slow down, or lose their connection."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    """One injected fault.

    ``method`` (``*`` = any) and ``path`` (a regex searched in the cluster-relative path, e.g.
    ``/apis/apps/v1/namespaces/shop/deployments``) select requests, ``cluster`` (None = any)
    the cluster, ``dry_run`` (None = either) whether a ``dryRun=All`` write matches. For each
    of the next ``count`` matching requests (negative = forever) the server waits ``latency``
    seconds, then either closes the connection mid-response
    (``close``; a watch first sends its initial events), answers ``status`` with a Status body,
    or (``status=None``) handles the request normally. ``message``: the Status body's message
    (default ``sandbox: injected fault (STATUS)``).
    """

    method: str = "*"
    path: str = ".*"
    cluster: str | None = None
    status: int | None = 503
    count: int = 1
    latency: float = 0.0
    close: bool = False
    dry_run: bool | None = None
    message: str = ""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.path)
        if self.status is not None and not 100 <= int(self.status) <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")

    def matches(self, cluster: str | None, method: str, path: str, dry_run: bool = False,
                ) -> bool:
        return ((self.method == "*" or self.method.upper() == method.upper())
                and (self.cluster is None or self.cluster == cluster)
                and (self.dry_run is None or self.dry_run == dry_run)
                and self._regex.search(path) is not None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_regex", None)
        return data


FIELDS = ("method", "path", "cluster", "status", "count", "latency", "close", "dry_run",
          "message")


def fault_from_dict(data: dict[str, Any]) -> Fault:
    """Build a Fault from the JSON the control endpoint receives (unknown keys rejected)."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    return Fault(**data)


class FaultSet:
    """The active faults of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, cluster: str | None, method: str, path: str, dry_run: bool = False,
             ) -> Fault | None:
        """The first fault matching this request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.count != 0 and fault.matches(cluster, method, path, dry_run):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]
