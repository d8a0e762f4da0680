"""The HTTP front end: one ThreadingHTTPServer serving every cluster under ``/clusters/<name>``.

Authentication: ``Authorization: Bearer <token>``, or HTTP Basic ``<cluster>:<token>`` (the
credentials in the kubeconfig's server URL: kubectl sends no bearer token over plain HTTP, but
Go's HTTP client does send URL credentials). A request whose path lacks the ``/clusters/<name>``
prefix (kubectl 1.32's ``get --raw`` drops it) goes to the cluster named by the Basic user.
The admin token may do anything; the token of an added user is authorized by the RBAC objects
stored in the cluster (:mod:`.authz`), a denial answered 403.

Control endpoints (no authentication, not recorded) live under ``/_sandbox/``.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import queue
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import printers, resources
from .api import SCALABLE, ClusterApi, parse_body
from .authz import Attributes, User, authorize, forbidden, request_attributes
from .errors import (
    ApiError,
    bad_request,
    method_not_allowed,
    not_found,
    path_not_found,
    status_object,
    unauthorized,
    unsupported_media_type,
)
from .faults import Fault, FaultSet, fault_from_dict
from .protobuf import PROTOBUF
from .proxy import pod_log, service_proxy
from .recording import KNOWN_QUERY, Recorder, RequestRecord
from .resources import ResourceType
from .selectors import object_predicate
from .store import Store, dumps

WATCH_DEFAULT_TIMEOUT = 1800.0
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
BOOKMARK_INTERVAL = 5.0
#: (HTTP method, names one object) -> the API verb of a request on a resource
_VERBS = {("GET", False): "list", ("POST", False): "create", ("DELETE", False): "deletecollection",
          ("GET", True): "get", ("PUT", True): "update", ("PATCH", True): "patch",
          ("DELETE", True): "delete"}
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 502: "BadGateway",
            503: "ServiceUnavailable", 504: "Timeout"}


@dataclass
class Cluster:
    """One simulated cluster: its store and the REST layer over it."""

    name: str
    store: Store
    api: ClusterApi


class _Unrouted(Exception):
    """A path or verb the router does not serve (answered 404/405, recorded unimplemented)."""

    def __init__(self, why: str, error: ApiError | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.error = error or path_not_found()


def _decodes_protobuf(method: str, rel: str) -> bool:
    """A request whose protobuf body the handlers decode, or else answer 415 and record."""
    return method == "POST" or (method == "PUT" and not rel.endswith("/scale"))


def _is_proxy(rel: str) -> bool:
    """A service proxy path: its query string belongs to the proxied request."""
    parts = rel.split("/")
    return len(parts) > 7 and parts[5] == "services" and parts[7] == "proxy"


class SandboxHTTPServer(ThreadingHTTPServer):
    """Holds the clusters, credentials, recorder and faults the handlers use."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, clusters: dict[str, Cluster], token: str, recorder: Recorder,
                 faults: FaultSet, version_doc: dict[str, str],
                 control: Callable[[str, str, dict, bytes], tuple[int, Any]],
                 users: dict[str, User] | None = None) -> None:
        super().__init__(("127.0.0.1", port), SandboxHandler)
        self.clusters = clusters
        self.token = token
        self.users = users if users is not None else {}  # token -> user (not the admin)
        self.recorder = recorder
        self.faults = faults
        self.version_doc = version_doc
        self.control = control
        self.stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:  # noqa: D102
        with self._sockets_lock:
            self._sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:  # noqa: D102
        with self._sockets_lock:
            self._sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open client connection (used on stop)."""
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: D102
        if not self.stopping.is_set():
            exc = sys.exc_info()[1]
            if not isinstance(exc, (ConnectionError, TimeoutError)):
                super().handle_error(request, client_address)


class SandboxHandler(BaseHTTPRequestHandler):
    """Parses, authenticates, records and dispatches one request."""

    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log (see ``--log``)."""

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    # --- plumbing ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        if self._record is not None:
            self._record.status = code  # visible before the client sees the answer
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for text in dict.fromkeys(self._warnings):  # once each, in order
            self.send_header("Warning", f"299 - {json.dumps(text)}")
        if self._cut:
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self._abort()
            return
        # headers and body in one write: one TCP segment for small answers
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        self.flush_headers()

    def _send_json(self, code: int, obj: Any) -> None:
        self._send(code, dumps(obj).encode())

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _authenticate(self) -> tuple[bool, User | None, str | None]:
        """(credentials valid, the user unless it is the admin, cluster named by HTTP Basic
        user)."""
        header = self.headers.get("Authorization") or ""
        cluster = None
        if header.startswith("Bearer "):
            token = header[7:].strip()
        elif header.startswith("Basic "):
            try:
                cluster, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False, None, None
        else:
            return False, None, None
        if hmac.compare_digest(token, self.server.token):
            return True, None, cluster
        user = next((u for t, u in list(self.server.users.items())
                     if hmac.compare_digest(token, t)), None)
        return user is not None, user, cluster

    # --- request lifecycle ---------------------------------------------------------------

    def _handle(self) -> None:
        started = time.perf_counter()
        self._cut = False
        self._record: RequestRecord | None = None
        self._warnings: list[str] = []  # sent as ``Warning: 299 - "..."`` headers
        split = urlsplit(self.path)
        path = split.path or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = self._read_body()
        method = self.command
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            self._control(method, path, query, body)
            return
        ok, self._user, basic_user = self._authenticate()
        cluster_name, rel = self._resolve(path, basic_user)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip() or None
        record = RequestRecord(
            cluster=cluster_name, method=method, path=rel, query=query,
            content_type=content_type, accept=self.headers.get("Accept"),
            body=body[:65536].decode("utf-8", "replace") if body else None,
            watch=query.get("watch") in ("true", "1"),
            user=self._user.name if self._user else None,
        )
        recorder = self.server.recorder
        recorder.add(record)
        self._record = record
        try:
            if not ok:
                raise unauthorized()
            cluster = self.server.clusters.get(cluster_name or "")
            if cluster is None:
                raise _Unrouted(f"no cluster {cluster_name!r} serves this path")
            if self._user is not None:
                attrs = request_attributes(method, rel, query)
                allowed, reason = authorize(cluster.store, self._user, attrs)
                if not allowed:
                    raise forbidden(self._user, attrs, reason)
            fault = self.server.faults.take(cluster.name, method, rel,
                                            query.get("dryRun") == "All")
            if fault is not None:
                self._inject(fault)
            unknown = sorted(set(query) - KNOWN_QUERY)
            if unknown and not _is_proxy(rel):
                recorder.mark_unimplemented(
                    record, f"unknown query parameter(s): {', '.join(unknown)}")
            accept = (self.headers.get("Accept") or "").lower()
            if accept and "json" not in accept and "*/*" not in accept \
                    and rel != "/openapi/v2" and not _is_proxy(rel):
                recorder.mark_unimplemented(record, f"cannot answer in {accept}")
            if body and content_type and "protobuf" in content_type and rel != SSAR_PATH \
                    and not _decodes_protobuf(method, rel):
                recorder.mark_unimplemented(record, f"request body content type {content_type}")
            record.status = self._dispatch(cluster, method, rel, query, body, content_type)
        except _Unrouted as exc:
            if record.unimplemented is None:
                recorder.mark_unimplemented(record, exc.why)
            record.status = self._error(exc.error)
        except ApiError as exc:
            record.status = self._error(exc)
        except (BrokenPipeError, ConnectionResetError):
            record.status = record.status or 499
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug must answer 500, not hang kubectl
            traceback.print_exc()
            recorder.mark_unimplemented(record, f"internal error: {exc!r}")
            record.status = self._error(ApiError(500, "InternalError", f"internal error: {exc}"))
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
            self.server.recorder.finished(record)

    def _error(self, exc: ApiError) -> int:
        try:
            self._send_json(exc.code, exc.status())
        except OSError:
            self.close_connection = True
        return exc.code

    def _inject(self, fault: Fault) -> None:
        if fault.latency > 0:
            time.sleep(fault.latency)
        if fault.close:
            self._cut = True
        elif fault.status is not None:
            reason = _REASONS.get(fault.status, "InternalError")
            raise ApiError(fault.status, reason,
                           fault.message or f"sandbox: injected fault ({fault.status})")

    def _resolve(self, path: str, basic_user: str | None) -> tuple[str | None, str]:
        if path.startswith("/clusters/"):
            _, _, rest = path.partition("/clusters/")
            name, _, rel = rest.partition("/")
            rel = "/" + rel
            prefix = f"/clusters/{name}/"
            while rel.startswith(prefix):
                rel = rel[len(prefix) - 1:]
            return name, rel
        return basic_user, path

    # --- routing -------------------------------------------------------------------------

    def _dispatch(self, cluster: Cluster, method: str, rel: str, query: dict[str, str],
                  body: bytes, content_type: str | None) -> int:
        parts = [p for p in rel.split("/") if p]
        if not parts:
            return self._get_only(method, {"paths": ["/api", "/api/v1", "/apis", "/version"]})
        head = parts[0]
        if parts == ["version"]:
            return self._get_only(method, self.server.version_doc)
        if parts == ["api"]:
            return self._get_only(method, resources.api_versions_doc())
        if parts == ["apis"]:
            return self._get_only(method, resources.api_group_list_doc())
        if head in ("healthz", "livez", "readyz") and len(parts) == 1:
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return 200
        if parts == ["openapi", "v2"] and method == "GET":
            # An empty document: kubectl then reports unknown kinds as "no matches for kind".
            self._send(200, resources.openapi_v2_doc(), resources.OPENAPI_V2_CONTENT_TYPE)
            return 200
        if rel == SSAR_PATH and method == "POST":
            return self._access_review(cluster, body, content_type)
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi(cluster, method, parts[2:])
        if head == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _Unrouted(f"unknown path {rel}")
        if not rest:
            doc = resources.api_resource_list_doc(group, version)
            if doc is None:
                raise _Unrouted(f"group version {group or 'core'}/{version} is not served")
            return self._get_only(method, doc)
        return self._resource(cluster, method, group, version, rest, query, body, content_type)

    def _access_review(self, cluster: Cluster, body: bytes, content_type: str | None) -> int:
        """``kubectl auth can-i``: the requester's own access, decided as its requests are."""
        review = parse_body(body, content_type or "application/json")
        spec = (review.get("spec") or {}) if isinstance(review, dict) else {}
        resource, plain = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if resource:
            attrs = Attributes(
                verb=resource.get("verb", ""), resource_request=True,
                group=resource.get("group", ""), resource=resource.get("resource", ""),
                subresource=resource.get("subresource", ""),
                namespace=resource.get("namespace", ""), name=resource.get("name", ""))
        elif plain:
            attrs = Attributes(verb=plain.get("verb", ""), path=plain.get("path", ""))
        else:
            raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is '
                           "invalid: spec.resourceAttributes: Invalid value: \"null\": exactly "
                           "one of nonResourceAttributes or resourceAttributes must be specified")
        allowed, reason = (True, "") if self._user is None \
            else authorize(cluster.store, self._user, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        self._send_json(201, {"kind": "SelfSubjectAccessReview",
                              "apiVersion": "authorization.k8s.io/v1",
                              "metadata": {"creationTimestamp": None}, "spec": spec,
                              "status": status})
        return 201

    def _get_only(self, method: str, doc: Any) -> int:
        if method != "GET":
            raise _Unrouted(f"{method} on a discovery path", method_not_allowed())
        self._send_json(200, doc)
        return 200

    def _openapi(self, cluster: Cluster, method: str, rest: list[str]) -> int:
        if not rest:
            doc = resources.openapi_v3_root_doc()
            prefix = f"/clusters/{cluster.name}"
            if self.path.startswith(prefix + "/"):
                for entry in doc.get("paths", {}).values():
                    url = entry.get("serverRelativeURL", "")
                    if url.startswith("/") and not url.startswith(prefix):
                        entry["serverRelativeURL"] = prefix + url
            return self._get_only(method, doc)
        doc = resources.openapi_v3_group_doc("/".join(rest))
        if doc is None:
            raise _Unrouted(f"no OpenAPI v3 document for {'/'.join(rest)}")
        return self._get_only(method, doc)

    def _resource(self, cluster: Cluster, method: str, group: str, version: str,
                  rest: list[str], query: dict[str, str], body: bytes,
                  content_type: str | None) -> int:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            inner = resources.lookup(group, version, rest[2])
            if inner is not None and inner.namespaced:
                namespace, rest = rest[1], rest[2:]
        rt = resources.lookup(group, version, rest[0])
        if rt is None:
            raise _Unrouted(f"unknown resource {rest[0]} in {group or 'core'}/{version}")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if rt.namespaced and namespace is None and name is not None:
            raise _Unrouted(f"namespaced {rt.plural} addressed without a namespace")
        verb = _VERBS.get((method, name is not None))
        if verb == "list" and query.get("watch") in ("true", "1"):
            verb = "watch"
        if sub is None and verb is not None and verb not in rt.verbs:
            raise method_not_allowed()  # as discovery says: e.g. GET on tokenreviews
        if name is None:
            return self._collection(cluster, rt, method, namespace, query, body, content_type)
        if sub is None:
            return self._item(cluster, rt, method, namespace, name, query, body, content_type)
        return self._subresource(cluster, rt, method, namespace, name, sub, rest[3:], query,
                                 body, content_type)

    # --- collections ---------------------------------------------------------------------

    def _collection(self, cluster: Cluster, rt: ResourceType, method: str,
                    namespace: str | None, query: dict[str, str], body: bytes,
                    content_type: str | None) -> int:
        dry_run = query.get("dryRun") == "All"
        if method == "GET":
            predicate = object_predicate(query.get("labelSelector"), query.get("fieldSelector"))
            if query.get("watch") in ("true", "1"):
                return self._watch(cluster, rt, namespace, predicate, query)
            items, rv = cluster.store.list(rt, namespace, predicate)
            if self._table(rt):
                self._send_json(200, printers.table(rt.kind, items, str(rv)))
                return 200
            for item in items:
                item.pop("apiVersion", None)
                item.pop("kind", None)
            self._send_json(200, {"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
                                  "metadata": {"resourceVersion": str(rv)}, "items": items})
            return 200
        if method == "POST":
            self._json_body_type(content_type)
            created = cluster.api.create(rt, self._object_body(cluster, namespace, body,
                                                               content_type),
                                         namespace, dry_run=dry_run,
                                         field_validation=query.get("fieldValidation"),
                                         warnings=self._warnings)
            self._send_json(201, created)
            return 201
        if method == "DELETE":
            predicate = object_predicate(query.get("labelSelector"), query.get("fieldSelector"))
            items, _ = cluster.store.list(rt, namespace, predicate)
            dry_run = self._delete_dry_run(query, body)
            deleted = []
            for item in items:
                meta = item["metadata"]
                try:
                    deleted.append(cluster.api.delete(rt, meta.get("namespace"), meta["name"],
                                                      propagation=self._propagation(query, body),
                                                      dry_run=dry_run))
                except ApiError:
                    continue
            self._send_json(200, {"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
                                  "metadata": {}, "items": deleted})
            return 200
        raise _Unrouted(f"{method} on a collection", method_not_allowed())

    def _table(self, rt: ResourceType) -> bool:
        """Answer as a Table (``kubectl get`` without ``-o``)?"""
        return printers.wants_table(self.headers.get("Accept")) and printers.has_printer(rt.kind)

    def _object_body(self, cluster: Cluster, namespace: str | None, body: bytes,
                     content_type: str | None) -> Any:
        """The object a POST or PUT carries: JSON, or the protobuf of kubectl's typed commands
        (what the sandbox cannot decode is answered 415 and recorded as unimplemented)."""
        if content_type != PROTOBUF:
            return parse_body(body)

        def owner(api_version: str, kind: str, name: str) -> dict | None:
            rt = resources.by_kind(api_version, kind)
            return cluster.store.get(rt, namespace, name) if rt and namespace else None

        try:
            return parse_body(body, PROTOBUF, owner)
        except ApiError as exc:
            if exc.code == 415 and self._record is not None:
                self.server.recorder.mark_unimplemented(self._record, exc.message)
            raise

    @staticmethod
    def _json_body_type(content_type: str | None) -> None:
        if content_type not in (None, "application/json", "application/yaml", "*/*", PROTOBUF):
            raise unsupported_media_type(content_type)

    @staticmethod
    def _propagation(query: dict[str, str], body: bytes) -> str | None:
        policy = query.get("propagationPolicy")
        if query.get("orphanDependents") == "true":
            policy = "Orphan"
        if body:
            try:
                options = json.loads(body)
            except ValueError:
                raise bad_request("could not decode DeleteOptions") from None
            if isinstance(options, dict):
                policy = options.get("propagationPolicy") or policy
                if options.get("orphanDependents") is True:
                    policy = "Orphan"
        return policy

    @staticmethod
    def _delete_dry_run(query: dict[str, str], body: bytes) -> bool:
        if query.get("dryRun") == "All":
            return True
        if body:
            try:
                options = json.loads(body)
            except ValueError:
                return False
            return isinstance(options, dict) and "All" in (options.get("dryRun") or [])
        return False

    # --- single objects ------------------------------------------------------------------

    def _item(self, cluster: Cluster, rt: ResourceType, method: str, namespace: str | None,
              name: str, query: dict[str, str], body: bytes, content_type: str | None) -> int:
        dry_run = query.get("dryRun") == "All"
        if method == "GET":
            obj = cluster.store.get(rt, namespace, name)
            if obj is None:
                raise not_found(rt, name)
            self._send_json(200, printers.table(rt.kind, [obj]) if self._table(rt) else obj)
            return 200
        if method == "PUT":
            self._json_body_type(content_type)
            obj = cluster.api.replace(rt, namespace, name,
                                      self._object_body(cluster, namespace, body, content_type),
                                      dry_run=dry_run,
                                      field_validation=query.get("fieldValidation"),
                                      warnings=self._warnings)
            self._send_json(200, obj)
            return 200
        if method == "PATCH":
            obj, code = cluster.api.patch(
                rt, namespace, name, content_type or "", body, dry_run=dry_run,
                field_manager=query.get("fieldManager"), force=query.get("force") == "true",
                field_validation=query.get("fieldValidation"), warnings=self._warnings)
            self._send_json(code, obj)
            return code
        if method == "DELETE":
            obj = cluster.api.delete(rt, namespace, name,
                                     propagation=self._propagation(query, body),
                                     dry_run=self._delete_dry_run(query, body))
            self._send_json(200, obj)
            return 200
        raise _Unrouted(f"{method} on an object", method_not_allowed())

    def _subresource(self, cluster: Cluster, rt: ResourceType, method: str,
                     namespace: str | None, name: str, sub: str, tail: list[str],
                     query: dict[str, str], body: bytes, content_type: str | None) -> int:
        dry_run = query.get("dryRun") == "All"
        if sub == "status" and "status" in rt.subresources and not tail:
            if method == "GET":
                return self._item(cluster, rt, method, namespace, name, query, body,
                                  content_type)
            if method == "PUT":
                obj = cluster.api.replace(rt, namespace, name,
                                          self._object_body(cluster, namespace, body,
                                                            content_type),
                                          dry_run=dry_run, subresource="status",
                                          field_validation=query.get("fieldValidation"),
                                          warnings=self._warnings)
                self._send_json(200, obj)
                return 200
            if method == "PATCH":
                obj, code = cluster.api.patch(rt, namespace, name, content_type or "", body,
                                              dry_run=dry_run, subresource="status",
                                              field_manager=query.get("fieldManager"),
                                              field_validation=query.get("fieldValidation"),
                                              warnings=self._warnings)
                self._send_json(code, obj)
                return code
        if sub == "scale" and rt.kind in SCALABLE and not tail:
            if method == "GET":
                self._send_json(200, cluster.api.get_scale(rt, namespace, name))
                return 200
            if method in ("PUT", "PATCH"):
                scale = cluster.api.update_scale(
                    rt, namespace, name, content_type if method == "PATCH" else None, body,
                    dry_run=dry_run)
                self._send_json(200, scale)
                return 200
        if sub == "proxy" and rt.kind == "Service":
            code, payload = service_proxy(cluster.store, namespace or "", name, "/".join(tail))
            self._send_json(code, payload)
            return code
        if sub == "log" and rt.kind == "Pod" and method == "GET" and not tail:
            text = pod_log(cluster.store, namespace or "", name)
            self._send(200, text.encode(), "text/plain")
            return 200
        raise _Unrouted(f"{method} {rt.plural}/{sub} is not simulated")

    # --- watch ---------------------------------------------------------------------------

    def _watch(self, cluster: Cluster, rt: ResourceType, namespace: str | None,
               predicate: Callable[[dict], bool], query: dict[str, str]) -> int:
        initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") == "true"
        rv_text = query.get("resourceVersion") or ""
        if initial:
            if query.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks:
                raise ApiError(422, "Invalid", "sendInitialEvents requires setting "
                               "resourceVersionMatch to NotOlderThan and allowWatchBookmarks "
                               "to true")
            since = None
        elif rv_text in ("", "0"):
            since = None
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise bad_request(f'resourceVersion: Invalid value: "{rv_text}"') from None
        try:
            timeout = float(query.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
        except ValueError:
            raise bad_request("invalid timeoutSeconds") from None
        store = cluster.store
        watcher, backlog = store.watch(rt, namespace, predicate, since)
        try:
            return self._stream(store, rt, watcher, backlog, initial, bookmarks, timeout)
        finally:
            store.unwatch(watcher)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _bookmark(self, rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        event = {"type": "BOOKMARK",
                 "object": {"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}}
        return (dumps(event) + "\n").encode()

    def _stream(self, store: Store, rt: ResourceType, watcher: Any, backlog: list,
                initial: bool, bookmarks: bool, timeout: float) -> int:
        start_rv = watcher.start_rv
        if self._record is not None:
            self._record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        as_table = self._table(rt)
        columns_sent = False

        def line(kind: str, event: Any) -> bytes:
            nonlocal columns_sent
            if not as_table:
                return event.line(kind)
            shown = printers.table(rt.kind, [event.obj])
            if columns_sent:  # like a real server: column definitions only once
                shown["columnDefinitions"] = []
            columns_sent = True
            return (dumps({"type": kind, "object": shown}) + "\n").encode()

        for kind, event in backlog:
            self._chunk(line(kind, event))
        if initial:
            self._chunk(self._bookmark(rt, start_rv, initial_end=True))
        if self._cut:
            self._abort()
            return 200
        deadline = time.monotonic() + timeout
        last_sent = time.monotonic()
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = watcher.queue.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                item = False
            if item is None:
                break
            if item:
                kind, event = item
                self._chunk(line(kind, event))
                last_sent = time.monotonic()
            elif bookmarks and time.monotonic() - last_sent >= BOOKMARK_INTERVAL:
                with store.lock:
                    rv = store.resource_version if watcher.queue.empty() else None
                if rv is not None:
                    self._chunk(self._bookmark(rt, rv))
                    last_sent = time.monotonic()
        self.wfile.write(b"0\r\n\r\n")
        return 200

    # --- control endpoint ----------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        self._record = None
        try:
            code, payload = self.server.control(method, path, query, body)
        except (ValueError, TypeError) as exc:
            code, payload = 400, status_object(400, "BadRequest", str(exc))
        if code == 404:
            payload = status_object(404, "NotFound", f"no control endpoint {method} {path}")
        self._cut = False
        self._send_json(code, payload)


def control_fault(body: bytes) -> Fault:
    """Parse a ``POST /_sandbox/faults`` body."""
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("fault must be a JSON object")
    return fault_from_dict(data)
