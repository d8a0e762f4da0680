"""The HTTP surface without kubectl: auth, discovery, Status errors, watches, recording."""

from __future__ import annotations

import base64
import http.client
import json
import time

import pytest
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
CM_PATH = "/api/v1/namespaces/default/configmaps"


def _watch(sandbox: Sandbox, query: str, *, path: str = CM_PATH, cluster: str = "dev",
           timeout: float = 5) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=timeout)
    conn.request("GET", f"/clusters/{cluster}{path}?watch=true&{query}",
                 headers={"Authorization": f"Bearer {sandbox.token}"})
    return conn, conn.getresponse()


def _events(response: http.client.HTTPResponse, count: int) -> list[dict]:
    return [json.loads(response.readline()) for _ in range(count)]


def test_auth_is_required(sandbox: Sandbox) -> None:
    for auth in (None, "wrong"):
        headers = {"Authorization": "Bearer nope"} if auth else None
        status, _, body = request(sandbox, "GET", "/api/v1/namespaces", auth=None,
                                  headers=headers)
        assert status == 401
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert request(sandbox, "GET", "/api/v1/namespaces", auth="basic")[0] == 200


def test_basic_auth_user_routes_requests_without_cluster_prefix(sandbox: Sandbox) -> None:
    request(sandbox, "POST", CM_PATH, cluster="staging", body=CM)
    status, _, body = request(sandbox, "GET", "/api/v1/namespaces/default/configmaps/cfg",
                              cluster=None, auth=None, headers={
                                  "Authorization": request_basic(sandbox, "staging")})
    assert status == 200 and body["data"] == {"a": "1"}


def request_basic(sandbox: Sandbox, cluster: str) -> str:
    return "Basic " + base64.b64encode(f"{cluster}:{sandbox.token}".encode()).decode()


def test_version_and_discovery(sandbox: Sandbox) -> None:
    status, headers, version = request(sandbox, "GET", "/version")
    assert status == 200 and headers["content-type"] == "application/json"
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "32", "v1.32.4")
    groups = request(sandbox, "GET", "/apis")[2]
    assert {g["name"] for g in groups["groups"]} >= {"apps", "batch", "policy"}
    apps = request(sandbox, "GET", "/apis/apps/v1")[2]
    assert {"deployments", "deployments/scale", "statefulsets"} <= {r["name"] for r in
                                                                     apps["resources"]}
    root = request(sandbox, "GET", "/openapi/v3")[2]
    for entry in root["paths"].values():
        assert entry["serverRelativeURL"].startswith("/clusters/dev/openapi/v3/")
    assert sandbox.unimplemented == []


@pytest.mark.allow_unimplemented
def test_unknown_paths_are_recorded_as_unimplemented(sandbox: Sandbox) -> None:
    status, _, body = request(sandbox, "GET", "/apis/example.com/v1/widgets")
    assert status == 404 and body["kind"] == "Status"
    request(sandbox, "GET", "/api/v1/namespaces/default/configmaps?bogusParam=1")
    request(sandbox, "GET", "/api/v1/namespaces/default/pods/x/exec")
    request(sandbox, "GET", "/api/v1/namespaces/nope", cluster="nope")
    request(sandbox, "GET", "/api/v1/namespaces", headers={
        "Accept": "application/vnd.kubernetes.protobuf"})
    assert request(sandbox, "GET", "/api/v1/namespaces", headers={
        "Accept": "application/vnd.kubernetes.protobuf,application/json"})[0] == 200
    reasons = [r.unimplemented for r in sandbox.unimplemented]
    assert len(reasons) == 5
    assert "unknown query parameter(s): bogusParam" in reasons
    # a NotFound of a known type is a normal answer, not unimplemented
    sandbox.clear_requests()
    assert request(sandbox, "GET", "/api/v1/namespaces/default/configmaps/none")[0] == 404
    assert sandbox.unimplemented == []
    request(sandbox, "GET", "/api/v1/namespaces/default/services/x:80/proxy/p?anything=1")
    assert sandbox.unimplemented == []  # a proxied query string is the backend's business
    status, _, records = request(sandbox, "GET", "/_sandbox/requests", cluster=None, auth=None)
    assert status == 200 and records[-2]["path"] == "/api/v1/namespaces/default/configmaps/none"


def test_status_errors_look_like_a_real_server(sandbox: Sandbox) -> None:
    assert request(sandbox, "POST", CM_PATH, body=CM)[0] == 201
    status, _, body = request(sandbox, "POST", CM_PATH, body=CM)
    assert status == 409
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'configmaps "cfg" already exists', "reason": "AlreadyExists",
                    "details": {"name": "cfg", "kind": "configmaps"}, "code": 409}
    status, _, body = request(sandbox, "GET", "/apis/apps/v1/namespaces/default/deployments/x")
    assert status == 404
    assert body["message"] == 'deployments.apps "x" not found'
    assert body["details"] == {"name": "x", "group": "apps", "kind": "deployments"}
    status, _, body = request(sandbox, "POST", "/apis/apps/v1/namespaces/default/deployments",
                              body={"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "d"}, "spec": {}})
    assert status == 422 and body["reason"] == "Invalid"
    assert {c["field"] for c in body["details"]["causes"]} >= {"spec.selector", "spec.template"}


def test_metadata_bookkeeping_and_noop_writes(sandbox: Sandbox) -> None:
    created = request(sandbox, "POST", CM_PATH, body=CM)[2]
    assert "generation" not in created["metadata"]  # ConfigMaps have no spec
    rv = created["metadata"]["resourceVersion"]
    same = request(sandbox, "PUT", f"{CM_PATH}/cfg", body=created)[2]
    assert same["metadata"]["resourceVersion"] == rv
    patched = request(sandbox, "PATCH", f"{CM_PATH}/cfg", body={"data": {"a": "2"}},
                      content_type="application/merge-patch+json")[2]
    assert int(patched["metadata"]["resourceVersion"]) > int(rv)
    assert patched["metadata"]["uid"] == created["metadata"]["uid"]
    stale = request(sandbox, "PUT", f"{CM_PATH}/cfg", body=created)
    assert stale[0] == 409 and stale[2]["reason"] == "Conflict"
    dry = request(sandbox, "DELETE", f"{CM_PATH}/cfg?dryRun=All")
    assert dry[0] == 200
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "cfg") is not None


def test_watch_from_resource_version_and_selector_transitions(sandbox: Sandbox) -> None:
    items = request(sandbox, "GET", CM_PATH)[2]
    conn, response = _watch(sandbox, f"resourceVersion={items['metadata']['resourceVersion']}"
                                     "&labelSelector=app%3Dweb&timeoutSeconds=5")
    try:
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"
        labelled = {**CM, "metadata": {"name": "cfg", "labels": {"app": "web"}}}
        request(sandbox, "POST", CM_PATH, body={**CM, "metadata": {"name": "other"}})
        request(sandbox, "POST", CM_PATH, body=labelled)
        request(sandbox, "PATCH", f"{CM_PATH}/cfg", body={"metadata": {"labels": {"app": "x"}}},
                content_type="application/merge-patch+json")
        events = _events(response, 2)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
            ("ADDED", "cfg"), ("DELETED", "cfg")]
        assert events[0]["object"]["kind"] == "ConfigMap"
    finally:
        conn.close()


def test_watch_list_sends_initial_events_then_bookmark(sandbox: Sandbox) -> None:
    request(sandbox, "POST", CM_PATH, body=CM)
    conn, response = _watch(sandbox, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                                     "&allowWatchBookmarks=true&timeoutSeconds=5")
    try:
        added, bookmark = _events(response, 2)
        assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "cfg"
        assert bookmark["type"] == "BOOKMARK"
        meta = bookmark["object"]["metadata"]
        assert meta["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert int(meta["resourceVersion"]) >= int(added["object"]["metadata"]["resourceVersion"])
        request(sandbox, "DELETE", f"{CM_PATH}/cfg")
        assert _events(response, 1)[0]["type"] == "DELETED"
    finally:
        conn.close()
    rejected = request(sandbox, "GET", f"{CM_PATH}?watch=true&sendInitialEvents=true")
    assert rejected[0] == 422


def test_watch_ends_at_timeout_seconds(sandbox: Sandbox) -> None:
    started = time.monotonic()
    conn, response = _watch(sandbox, "timeoutSeconds=1")
    try:
        assert response.read() == b""
    finally:
        conn.close()
    assert 0.9 < time.monotonic() - started < 3


def test_watch_from_a_compacted_version_is_gone(sandbox: Sandbox) -> None:
    store = sandbox.store("dev")
    store._events = type(store._events)(store._events, maxlen=5)  # a short history
    for i in range(8):
        request(sandbox, "POST", CM_PATH, body={**CM, "metadata": {"name": f"c{i}"}})
    status, _, body = request(sandbox, "GET", f"{CM_PATH}?watch=true&resourceVersion=1001")
    assert status == 410 and body["reason"] == "Expired"


def test_watches_end_when_the_sandbox_stops(sandbox: Sandbox) -> None:
    conn, response = _watch(sandbox, "timeoutSeconds=60")
    sandbox.stop()
    started = time.monotonic()
    try:
        response.read()
    except (TimeoutError, http.client.IncompleteRead, ConnectionError):
        pass
    finally:
        conn.close()
    assert time.monotonic() - started < 3


def test_requests_and_writes_are_recorded(sandbox: Sandbox) -> None:
    request(sandbox, "POST", CM_PATH, body=CM, cluster="prod")
    request(sandbox, "PATCH", f"{CM_PATH}/cfg?dryRun=All", body={"data": {"a": "2"}},
            content_type="application/merge-patch+json", cluster="prod")
    request(sandbox, "GET", CM_PATH, cluster="prod")
    writes = sandbox.writes("prod")
    assert [(w.method, w.path, w.status) for w in writes] == [("POST", CM_PATH, 201)]
    assert writes[0].cluster == "prod" and json.loads(writes[0].body)["kind"] == "ConfigMap"
    assert sandbox.writes("dev") == []
    record = sandbox.requests[-1]
    assert (record.method, record.query, record.status) == ("GET", {}, 200)
    sandbox.clear_requests()
    assert sandbox.requests == []


@pytest.mark.parametrize("content_type, body", [
    ("application/merge-patch+json", {"data": {"a": "2"}}),
    ("application/strategic-merge-patch+json", {"data": {"a": "2"}}),
    ("application/json-patch+json", [{"op": "replace", "path": "/data/a", "value": "2"}]),
    ("application/apply-patch+yaml", {**CM, "data": {"a": "2"}}),
])
def test_dry_run_patches_of_every_type_answer_without_storing(sandbox: Sandbox, content_type,
                                                              body) -> None:
    request(sandbox, "POST", CM_PATH, body=CM)
    store = sandbox.store("dev")
    rv = store.resource_version
    code, _, answer = request(sandbox, "PATCH", f"{CM_PATH}/cfg?dryRun=All&fieldManager=t",
                              body=body, content_type=content_type)
    assert (code, answer["data"]) == (200, {"a": "2"})
    assert store.resource_version == rv
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "cfg")["data"] == {"a": "1"}


@pytest.mark.parametrize("body", [
    b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},'
    b'"data":{"a":"2","when":"2026-01-01","n":"1e5"}}',
    b'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n'
    b'data: {a: "2", when: "2026-01-01", n: "1e5"}\n',
    b'{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg},'
    b' data: {a: "2", when: "2026-01-01", n: "1e5"}}',  # YAML flow style, not JSON
])
def test_an_apply_patch_is_read_as_json_or_yaml(sandbox: Sandbox, body: bytes) -> None:
    code, _, answer = request(sandbox, "PATCH", f"{CM_PATH}/cfg?fieldManager=t", body=body,
                              content_type="application/apply-patch+yaml")
    assert code == 201, answer
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "cfg")["data"] == {
        "a": "2", "when": "2026-01-01", "n": "1e5"}


def test_an_apply_patch_that_is_neither_json_nor_yaml_is_a_bad_request(sandbox: Sandbox
                                                                         ) -> None:
    code, _, answer = request(sandbox, "PATCH", f"{CM_PATH}/cfg?fieldManager=t",
                              body=b'{"kind": [}', content_type="application/apply-patch+yaml")
    assert (code, answer["reason"]) == (400, "BadRequest")
    assert answer["message"].startswith("error decoding request body")


def test_dry_run_delete_collection_through_delete_options(sandbox: Sandbox) -> None:
    request(sandbox, "POST", CM_PATH, body=CM)
    rv = sandbox.store("dev").resource_version
    code, _, answer = request(sandbox, "DELETE", CM_PATH,
                              body={"kind": "DeleteOptions", "apiVersion": "v1",
                                    "dryRun": ["All"]})
    assert code == 200 and [i["metadata"]["name"] for i in answer["items"]] == ["cfg"]
    assert sandbox.store("dev").resource_version == rv
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "cfg") is not None
