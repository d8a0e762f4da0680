"""The in-process :class:`Sandbox`: clusters, HTTP server, controllers and the test API."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from .api import ClusterApi
from .authz import User
from .clock import SimClock
from .controllers import ControllerManager
from .errors import ApiError
from .faults import Fault, FaultSet
from .kubeconfig import context_name, kubeconfig_text, write_kubeconfig
from .recording import Recorder, RequestRecord
from .resources import ResourceType, by_kind
from .server import Cluster, SandboxHTTPServer, control_fault
from .store import Store

_LIVE: weakref.WeakSet[Sandbox] = weakref.WeakSet()


def live_sandboxes() -> list[Sandbox]:
    """Every in-process Sandbox currently started (used by test hooks)."""
    return list(_LIVE)


def version_document(server_version: str) -> dict[str, str]:
    """``GET /version`` for a ``major.minor.patch`` version string."""
    text = server_version.lstrip("v")
    parts = text.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise ValueError(f"server version must look like 1.32.4, got {server_version!r}")
    return {
        "major": parts[0],
        "minor": parts[1],
        "gitVersion": f"v{text}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


class Sandbox:
    """A simulated multi-cluster Kubernetes API server for the real kubectl.

    ``start()`` binds 127.0.0.1:``port`` (0 = any free port), starts the controllers and
    writes ``kubeconfig`` with one context per cluster: its name in ``contexts`` (cluster ->
    context), else ``globepay-<cluster>``. Use as a context manager or call ``stop()``.
    """

    def __init__(self, kubeconfig: str | os.PathLike[str], *, port: int = 0,
                 clusters: Sequence[str] = ("dev", "staging", "prod"),
                 contexts: Mapping[str, str] | None = None,
                 rollout_seconds: float = 5.0, time_scale: float = 1.0,
                 server_version: str = "1.32.4", log: str | None = None) -> None:
        if not clusters:
            raise ValueError("at least one cluster is needed")
        self.kubeconfig = Path(kubeconfig)
        self.port = port
        self.cluster_names = tuple(clusters)
        unknown = set(contexts or {}) - set(clusters)
        if unknown:
            raise ValueError(f"contexts of clusters not served: {', '.join(sorted(unknown))}")
        self.contexts = {c: (contexts or {}).get(c) or context_name(c) for c in clusters}
        if len(set(self.contexts.values())) < len(clusters):
            raise ValueError("two sandbox clusters cannot share a context name")
        #: when it started serving (UTC, ISO 8601; "" until then)
        self.started_at = ""
        self.rollout_seconds = float(rollout_seconds)
        self.clock = SimClock(time_scale)
        self.server_version = server_version
        self.token = secrets.token_hex(16)
        self.url = ""
        self._version_doc = version_document(server_version)
        self._log_path = log
        self._log: TextIO | None = None
        self._faults = FaultSet()
        self._users: dict[str, User] = {}  # token -> user
        self._recorder: Recorder | None = None
        self._clusters: dict[str, Cluster] = {}
        self._managers: dict[str, ControllerManager] = {}
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start serving; returns self once the kubeconfig has been written."""
        if self._server is not None:
            return self
        if self._log_path:
            self._log = open(self._log_path, "a", buffering=1)  # noqa: SIM115
        self._recorder = Recorder(log=self._log)
        for name in self.cluster_names:
            store = Store(name)
            self._clusters[name] = Cluster(name, store, ClusterApi(store))
            self._managers[name] = ControllerManager(store, self.clock, self.rollout_seconds)
        self._server = SandboxHTTPServer(self.port, self._clusters, self.token, self._recorder,
                                         self._faults, self._version_doc, self._control,
                                         self._users)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        for manager in self._managers.values():
            manager.start()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_kubeconfig(self.kubeconfig, self.url, self.contexts, self.token)
        _LIVE.add(self)
        return self

    def stop(self) -> None:
        """Stop serving: end watches, close connections, stop the controllers."""
        server, self._server = self._server, None
        if server is None:
            return
        _LIVE.discard(self)
        server.stopping.set()
        for cluster in self._clusters.values():
            cluster.store.close()
        server.shutdown()
        server.close_connections()
        server.server_close()
        for manager in self._managers.values():
            manager.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- addresses -----------------------------------------------------------------------

    def context(self, cluster: str) -> str:
        """Context name of ``cluster`` in the kubeconfig (``globepay-dev``)."""
        self._cluster(cluster)
        return self.contexts[cluster]

    def server_url(self, cluster: str) -> str:
        """``<url>/clusters/<cluster>`` (credentials go in an Authorization header)."""
        self._cluster(cluster)
        return f"{self.url}/clusters/{cluster}"

    def _cluster(self, name: str) -> Cluster:
        if name not in self.cluster_names:
            raise KeyError(f"no sandbox cluster {name!r} (have {', '.join(self.cluster_names)})")
        if name not in self._clusters:
            raise RuntimeError("the sandbox is not started")
        return self._clusters[name]

    def store(self, cluster: str) -> Store:
        """The object store of one cluster (for white-box tests)."""
        return self._cluster(cluster).store

    # --- objects -------------------------------------------------------------------------

    @staticmethod
    def _rt(api_version: str, kind: str) -> ResourceType:
        rt = by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"the sandbox does not serve {kind} in {api_version}")
        return rt

    def get(self, cluster: str, api_version: str, kind: str, namespace: str | None,
            name: str) -> dict | None:
        """A deep copy of one object, or None."""
        return self._cluster(cluster).store.get(self._rt(api_version, kind), namespace, name)

    def list(self, cluster: str, api_version: str, kind: str,
             namespace: str | None = None) -> list[dict]:
        """Deep copies of all objects of a kind (optionally in one namespace)."""
        items, _ = self._cluster(cluster).store.list(self._rt(api_version, kind), namespace)
        return items

    def create(self, cluster: str, obj: dict) -> dict:
        """Create an object directly (validated and defaulted like a POST)."""
        rt = self._rt(obj.get("apiVersion", ""), obj.get("kind", ""))
        namespace = (obj.get("metadata") or {}).get("namespace")
        return self._cluster(cluster).api.create(rt, obj, namespace)

    def put(self, cluster: str, obj: dict) -> dict:
        """Create an object directly, or replace the one of that name (as a PUT would)."""
        rt = self._rt(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        api = self._cluster(cluster).api
        if api.store.get(rt, meta.get("namespace"), meta["name"]) is None:
            return api.create(rt, obj, meta.get("namespace"))
        return api.replace(rt, meta.get("namespace"), meta["name"], obj)

    # --- requests ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served (oldest first; control endpoint excluded)."""
        return self._recorder.records if self._recorder else []

    @property
    def unimplemented(self) -> list[RequestRecord]:
        """Requests the sandbox could not serve as a real API server would."""
        return self._recorder.unimplemented if self._recorder else []

    @property
    def controller_errors(self) -> list[str]:
        """Exceptions raised inside controllers (always a sandbox bug)."""
        return [e for m in self._managers.values() for e in m.errors]

    def clear_requests(self) -> None:
        if self._recorder:
            self._recorder.clear()

    def writes(self, cluster: str | None = None) -> list[RequestRecord]:
        """Non-GET requests that were not ``dryRun=All``, optionally of one cluster."""
        return [r for r in self.requests
                if r.is_write and (cluster is None or r.cluster == cluster)]

    # --- users ----------------------------------------------------------------------------

    def add_user(self, name: str, *, groups: Sequence[str] = (), token: str | None = None,
                 kubeconfig: str | os.PathLike[str] | None = None) -> str:
        """Add a user whose requests the RBAC objects of each cluster authorize; returns its
        token. ``kubeconfig``: also write a kubeconfig with the same contexts as this user.
        A ServiceAccount is the user ``system:serviceaccount:<namespace>:<name>``."""
        if not name:
            raise ValueError("a user needs a name")
        token = token or secrets.token_hex(16)
        if token == self.token or any(u.name == name for u in self._users.values()):
            raise ValueError(f"user {name!r} or its token is taken")
        if kubeconfig is not None and not self.url:
            raise RuntimeError("the sandbox is not started")
        self._users[token] = User.named(name, tuple(groups))
        if kubeconfig is not None:
            write_kubeconfig(kubeconfig, self.url, self.contexts, token)
        return token

    @property
    def users(self) -> dict[str, tuple[str, ...]]:
        """Added user name -> its groups."""
        return {u.name: u.groups for u in self._users.values()}

    def remove_users(self) -> None:
        self._users.clear()

    # --- faults and time -----------------------------------------------------------------

    def add_fault(self, *, method: str = "*", path: str = ".*", cluster: str | None = None,
                  status: int | None = 503, count: int = 1, latency: float = 0.0,
                  close: bool = False, dry_run: bool | None = None,
                  message: str = "") -> None:
        """Inject a fault (see :class:`~.faults.Fault`)."""
        self._faults.add(Fault(method=method, path=path, cluster=cluster, status=status,
                               count=count, latency=latency, close=close, dry_run=dry_run,
                               message=message))

    def clear_faults(self) -> None:
        self._faults.clear()

    def advance(self, seconds: float) -> None:
        """Jump the simulated clock forward and let the controllers catch up."""
        self.clock.advance(seconds)
        for manager in self._managers.values():
            manager.wake()

    # --- control endpoint ----------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, str],
                 body: bytes) -> tuple[int, Any]:
        route = path.rstrip("/")
        if route == "/_sandbox/faults":
            if method == "POST":
                self._faults.add(control_fault(body))
                return 201, {"faults": self._faults.snapshot()}
            if method == "DELETE":
                self.clear_faults()
                return 200, {"faults": []}
            if method == "GET":
                return 200, {"faults": self._faults.snapshot()}
        if route == "/_sandbox/requests":
            if method == "GET":
                return 200, [r.to_dict() for r in self.requests]
            if method == "DELETE":
                self.clear_requests()
                return 200, []
        if route == "/_sandbox/users":
            if method == "POST":
                data = json.loads(body or b"{}")
                if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                    raise ValueError('a user needs a "name"')
                token = self.add_user(data["name"], groups=list(data.get("groups") or []),
                                      token=data.get("token"))
                return 201, {"name": data["name"], "token": token,
                             "kubeconfig": kubeconfig_text(self.url, self.contexts, token)}
            if method == "GET":
                return 200, [{"name": n, "groups": list(g)} for n, g in self.users.items()]
            if method == "DELETE":
                self.remove_users()
                return 200, []
        if route == "/_sandbox/unimplemented" and method == "GET":
            return 200, [r.to_dict() for r in self.unimplemented]
        if route == "/_sandbox/advance" and method == "POST":
            seconds = float(json.loads(body or b"{}").get("seconds", 0))
            self.advance(seconds)
            return 200, {"advanced": seconds}
        if route == "/_sandbox" and method == "GET":
            return 200, {"url": self.url, "clusters": list(self.cluster_names),
                         "contexts": dict(self.contexts), "pid": os.getpid(),
                         "started": self.started_at, "serverVersion": self.server_version,
                         "timeScale": self.clock.time_scale,
                         "rolloutSeconds": self.rollout_seconds}
        return 404, None


__all__ = ["ApiError", "Sandbox", "live_sandboxes"]
