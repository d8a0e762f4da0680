"""Controller manager: one thread per cluster running the simulated controllers.

Every store change marks the changed object and its controlling owner dirty; the loop
reconciles dirty objects promptly and sleeps until the next simulated-time deadline a
reconciler asked for (a pod becoming ready, a rollout step, a progress deadline). Reconcilers
run under the store lock and write through the store, so their changes bump resourceVersions
and reach watchers like any other write - but only when something really changes.
"""

from __future__ import annotations

import heapq
import logging
import threading
from typing import Protocol

from .clock import SimClock
from .ctl_deployment import DeploymentController
from .ctl_job import JobController
from .ctl_namespace import NamespaceController
from .ctl_replicaset import PodController, ReplicaSetController
from .ctl_revisions import DaemonSetController, StatefulSetController
from .errors import ApiError
from .store import Event, Store

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (kind, namespace, name)


class Reconciler(Protocol):
    """Brings one object of ``kind`` towards its desired state."""

    kind: str

    def reconcile(self, namespace: str, name: str, now: float) -> float | None:
        """Do one step; return the simulated time of the next needed step, if any."""


class ControllerManager:
    """Runs the reconcilers of one cluster on its own thread."""

    def __init__(self, store: Store, clock: SimClock, rollout_seconds: float) -> None:
        self.store = store
        self.clock = clock
        self.rollout_seconds = rollout_seconds
        #: simulated time at which a pod's containers start (it becomes ready unless they
        #: crash), set by the workload controller that created it
        self.pod_ready_at: dict[str, float] = {}
        #: simulated time at which a pod's image pull first failed
        self.pod_pull_failed_at: dict[str, float] = {}
        self._reconcilers: dict[str, Reconciler] = {}
        for reconciler in (DeploymentController(self), ReplicaSetController(self),
                           PodController(self), StatefulSetController(self),
                           DaemonSetController(self), JobController(self),
                           NamespaceController(self)):
            self._reconcilers[reconciler.kind] = reconciler
        self._dirty: set[Key] = set()
        self._due: list[tuple[float, Key]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        store.subscribe(self._on_event)
        with store.lock:
            for rt, obj in store.all_objects():
                if rt.kind in self._reconcilers:
                    meta = obj["metadata"]
                    self._dirty.add((rt.kind, meta.get("namespace", ""), meta["name"]))

    # --- change notifications ------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.type == "DELETED" and event.rt.kind == "Pod":
            uid = event.obj["metadata"].get("uid", "")
            self.pod_ready_at.pop(uid, None)
            self.pod_pull_failed_at.pop(uid, None)
        keys: list[Key] = []
        if event.rt.kind in self._reconcilers:
            keys.append((event.rt.kind, event.namespace, event.name))
        for ref in (event.obj.get("metadata") or {}).get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") in self._reconcilers:
                keys.append((ref["kind"], event.namespace, ref.get("name", "")))
        if keys:
            with self._lock:
                self._dirty.update(keys)
            self._wake.set()

    def wake(self) -> None:
        """Re-check deadlines now (after the simulated clock jumped)."""
        self._wake.set()

    # --- loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"controllers-{self.store.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _take_work(self, now: float) -> set[Key]:
        with self._lock:
            while self._due and self._due[0][0] <= now:
                self._dirty.add(heapq.heappop(self._due)[1])
            work, self._dirty = self._dirty, set()
            return work

    def _next_delay(self, now: float) -> float:
        with self._lock:
            if self._dirty:
                return 0.0
            if not self._due:
                return 0.5
            return min(self.clock.real_delay(self._due[0][0] - now), 0.5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            delay = self._next_delay(self.clock.now())
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()

    def run_once(self) -> None:
        """Reconcile everything that is dirty or due now."""
        now = self.clock.now()
        # Order parents after children within one pass so a pass sees fresh child status.
        order = {"Pod": 0, "ReplicaSet": 1, "Job": 1, "StatefulSet": 1, "DaemonSet": 1,
                 "Deployment": 2}
        for key in sorted(self._take_work(now), key=lambda k: order.get(k[0], 3)):
            kind, namespace, name = key
            try:
                with self.store.lock:
                    due = self._reconcilers[kind].reconcile(namespace, name, now)
            except Exception as exc:  # noqa: BLE001 - keep the loop alive, remember the bug
                if isinstance(exc, ApiError) and exc.code == 403 and "being terminated" in str(exc):
                    continue  # as a real controller sees it: the namespace is going away
                log.exception("reconcile %s %s/%s failed", kind, namespace, name)
                self.errors.append(f"{kind} {namespace}/{name}: {exc!r}")
                continue
            if due is not None:
                with self._lock:
                    heapq.heappush(self._due, (due, key))

