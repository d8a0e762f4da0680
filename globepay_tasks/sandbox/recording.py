"""Request recording: every request the sandbox served, and the ones it could not serve."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

#: Query parameters the sandbox understands (anything else is recorded as unimplemented).
KNOWN_QUERY = frozenset({
    "timeout", "fieldManager", "fieldValidation", "dryRun", "force", "labelSelector",
    "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "watch",
    "allowWatchBookmarks", "timeoutSeconds", "sendInitialEvents", "propagationPolicy",
    "gracePeriodSeconds", "hash", "pretty", "orphanDependents",
    # pods/log
    "container", "follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines",
    "limitBytes", "insecureSkipTLSVerifyBackend",
})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class RequestRecord:
    """One request: where it went, what it carried and how it was answered.

    ``path`` is relative to the cluster (``/apis/apps/v1/...``); ``cluster`` is None for the
    control endpoint and for paths outside any cluster. ``query`` keeps the last value of each
    parameter. ``unimplemented`` says why the sandbox could not fully serve it (else None).
    ``user`` is the added user who sent it (None: the admin or no valid credentials).
    ``at`` is the wall-clock time (``time.time()``) it arrived.
    """

    cluster: str | None
    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    status: int = 0
    accept: str | None = None
    body: str | None = None
    duration_ms: float = 0.0
    unimplemented: str | None = None
    watch: bool = field(default=False)
    user: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def is_write(self) -> bool:
        """A non-read request that was not a server-side dry run."""
        return self.method not in READ_METHODS and self.query.get("dryRun") != "All"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recorder:
    """Bounded request history plus the (unbounded) list of unimplemented requests."""

    def __init__(self, limit: int = 200_000, log: TextIO | None = None) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._unimplemented: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._log = log

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def mark_unimplemented(self, record: RequestRecord, why: str) -> None:
        """Flag a request the sandbox cannot serve (before its response goes out)."""
        with self._lock:
            if record.unimplemented is None:
                self._unimplemented.append(record)
            record.unimplemented = why

    def finished(self, record: RequestRecord) -> None:
        """Called once the response is complete: write the log line."""
        if self._log is not None:
            query = "&".join(f"{k}={v}" for k, v in record.query.items())
            line = (f"{record.cluster or '-'} {record.method} {record.path}"
                    f"{'?' + query if query else ''} {record.status} {record.duration_ms:.1f}ms"
                    f"{' user=' + record.user if record.user else ''}"
                    f"{' UNIMPLEMENTED: ' + record.unimplemented if record.unimplemented else ''}"
                    "\n")
            with self._lock:
                try:
                    self._log.write(line)
                    self._log.flush()
                except ValueError:  # log closed during shutdown
                    pass

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    @property
    def unimplemented(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._unimplemented)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._unimplemented.clear()
