"""Real kubectl (every available version) creating, reading, changing and deleting objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.resources import by_kind

CM = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
      "data:\n  a: b\n")


def test_apply_k_creates_then_reports_unchanged(sandbox: Sandbox, kubectl, shop: Path) -> None:
    first = kubectl("apply", "-k", str(shop / "base"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "namespace/shop created", "service/web created", "deployment.apps/api created",
        "deployment.apps/web created"]
    web = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    assert web["metadata"]["generation"] == 1
    assert web["spec"]["strategy"]["type"] == "RollingUpdate"  # server defaults
    assert "kubectl.kubernetes.io/last-applied-configuration" in web["metadata"]["annotations"]
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop").returncode == 0
    rv = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")["metadata"]["resourceVersion"]
    sandbox.clear_requests()

    again = kubectl("apply", "-k", str(shop / "base"))
    assert again.returncode == 0
    assert again.stdout.count("unchanged") == 4
    assert sandbox.writes() == []
    assert sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")["metadata"][
        "resourceVersion"] == rv


def test_clusters_are_independent(sandbox: Sandbox, kubectl, shop: Path) -> None:
    assert kubectl("apply", "-k", str(shop / "base"), cluster="staging").returncode == 0
    assert sandbox.get("staging", "v1", "Namespace", None, "shop") is not None
    assert sandbox.get("dev", "v1", "Namespace", None, "shop") is None
    missing = kubectl("get", "deployment", "web", "-n", "shop", cluster="prod")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): namespaces "shop" not found' in missing.stderr or \
        'deployments.apps "web" not found' in missing.stderr


def test_get_json_lists_objects_with_metadata(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    result = kubectl("get", "deployments", "-n", "shop", "-o", "json")
    assert result.returncode == 0
    items = json.loads(result.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["api", "web"]
    for item in items:
        assert item["kind"] == "Deployment"
        assert len(item["metadata"]["uid"]) == 36
        assert int(item["metadata"]["resourceVersion"]) > 1000
        assert item["metadata"]["creationTimestamp"].endswith("Z")


def test_create_then_already_exists(sandbox: Sandbox, kubectl) -> None:
    manifest = CM.format(name="settings", ns="default")
    created = kubectl("create", "-f", "-", input=manifest)
    assert created.returncode == 0
    assert created.stdout.strip() == "configmap/settings created"
    again = kubectl("create", "-f", "-", input=manifest)
    assert again.returncode == 1
    assert 'Error from server (AlreadyExists): error when creating "STDIN": configmaps ' \
           '"settings" already exists' in again.stderr
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "settings")["data"] == {"a": "b"}


def test_create_in_missing_namespace_is_not_found(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("create", "-f", "-", input=CM.format(name="x", ns="nowhere"))
    assert result.returncode == 1
    assert 'namespaces "nowhere" not found' in result.stderr
    assert sandbox.list("dev", "v1", "ConfigMap") == []


def test_invalid_name_and_missing_selector_are_rejected(sandbox: Sandbox, kubectl) -> None:
    bad_name = kubectl("create", "-f", "-", input=CM.format(name="Bad_Name", ns="default"))
    assert bad_name.returncode == 1
    assert 'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' \
        in bad_name.stderr
    no_selector = kubectl("create", "-f", "-", input=(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nosel, namespace: default}\n"
        "spec: {template: {spec: {containers: [{name: a, image: b}]}}}\n"))
    assert no_selector.returncode == 1
    assert 'The Deployment "nosel" is invalid' in no_selector.stderr
    assert "spec.selector: Required value" in no_selector.stderr
    assert sandbox.list("dev", "apps/v1", "Deployment") == []


def test_strict_field_validation_rejects_unknown_fields(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "-f", "-", input=CM.format(name="x", ns="default") + "bogus: 1\n")
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "bogus"' in result.stderr


def test_unknown_kind_has_no_match(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "-f", "-", input=(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"))
    assert result.returncode == 1
    assert 'no matches for kind "Widget" in version "example.com/v1"' in result.stderr


def test_annotate_label_and_patch_types(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    steps = [
        (("annotate", "deployment/web", "-n", "shop", "team=payments"), "annotated"),
        (("label", "deployment/web", "-n", "shop", "tier=front"), "labeled"),
        (("patch", "deployment/web", "-n", "shop", "-p", '{"spec":{"replicas":3}}'), "patched"),
        (("patch", "deployment/web", "-n", "shop", "--type=merge", "-p",
          '{"metadata":{"annotations":{"x":"y"}}}'), "patched"),
        (("patch", "deployment/web", "-n", "shop", "--type=json", "-p",
          '[{"op":"replace","path":"/spec/progressDeadlineSeconds","value":30}]'), "patched"),
    ]
    for args, word in steps:
        result = kubectl(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"deployment.apps/web {word}"
    web = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    assert web["metadata"]["annotations"]["team"] == "payments"
    assert web["metadata"]["annotations"]["x"] == "y"
    assert web["metadata"]["labels"]["tier"] == "front"
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["progressDeadlineSeconds"] == 30
    assert web["metadata"]["generation"] == 3  # two spec changes; metadata-only ones don't count
    failing = kubectl("patch", "deployment/web", "-n", "shop", "--type=json", "-p",
                      '[{"op":"test","path":"/spec/replicas","value":9}]')
    assert failing.returncode == 1
    assert "The request is invalid" in failing.stderr and "test failed" in failing.stderr


def test_scale_uses_the_scale_subresource(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    result = kubectl("scale", "deployment/web", "-n", "shop", "--replicas=4")
    assert result.returncode == 0, result.stderr
    assert sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")["spec"]["replicas"] == 4
    assert any(r.path.endswith("/deployments/web/scale") and r.method == "PATCH"
               for r in sandbox.requests)
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    pods = sandbox.list("dev", "v1", "Pod", "shop")
    assert len([p for p in pods if p["metadata"]["labels"].get("app") == "web"]) == 4


def test_label_and_field_selectors(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    by_label = kubectl("get", "deployments", "-n", "shop", "-l", "app in (web,x),app!=api",
                       "-o", "name")
    assert by_label.stdout.split() == ["deployment.apps/web"]
    by_field = kubectl("get", "deployments", "-A", "--field-selector", "metadata.name=api",
                       "-o", "name")
    assert by_field.stdout.split() == ["deployment.apps/api"]


def test_delete_cascades_to_replicasets_and_pods(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop",
                   "--timeout=20s").returncode == 0
    assert sandbox.list("dev", "apps/v1", "ReplicaSet", "shop")
    result = kubectl("delete", "deployment", "web", "-n", "shop")
    assert result.returncode == 0, result.stderr
    assert 'deployment.apps "web" deleted' in result.stdout
    left = [o["metadata"]["name"] for o in sandbox.list("dev", "apps/v1", "ReplicaSet", "shop")
            + sandbox.list("dev", "v1", "Pod", "shop")]
    assert not [n for n in left if n.startswith("web-")]
    missing = kubectl("delete", "deployment", "web", "-n", "shop")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "web" not found' in missing.stderr


def test_deleting_a_namespace_deletes_its_contents(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    result = kubectl("delete", "namespace", "shop", "--wait=false")
    assert result.returncode == 0, result.stderr
    terminating = sandbox.get("dev", "v1", "Namespace", None, "shop")
    if terminating is not None:  # unless already finalized (0.25 s)
        assert terminating["status"]["phase"] == "Terminating"
        refused = kubectl("create", "-f", "-", input=CM.format(name="late", ns="shop"))
        assert refused.returncode == 1
        assert "because it is being terminated" in refused.stderr or \
            'namespaces "shop" not found' in refused.stderr  # finalized meanwhile
    waited = kubectl("wait", "--for=delete", "namespace/shop", "--timeout=10s")
    assert waited.returncode == 0, waited.stderr
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "Pod"),
                              ("apps/v1", "ReplicaSet")):
        assert sandbox.list("dev", api_version, kind, "shop") == []
    protected = kubectl("delete", "namespace", "default")
    assert protected.returncode == 1
    assert 'namespaces "default" is forbidden: this namespace may not be deleted' \
        in protected.stderr


def test_delete_k_removes_everything(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    result = kubectl("delete", "-k", str(shop / "base"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('namespace "shop" deleted')
    assert 'deployment.apps "web" deleted' in result.stdout
    assert sandbox.get("dev", "v1", "Namespace", None, "shop") is None


def test_auth_can_i_as_the_admin_is_yes(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("auth", "can-i", "delete", "deployments")
    assert (result.returncode, result.stdout.strip()) == (0, "yes")


def test_dry_run_server_changes_nothing(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop").returncode == 0
    before = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    sandbox.clear_requests()
    result = kubectl("apply", "-k", str(shop / "v2"), "--dry-run=server")
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/web configured (server dry run)" in result.stdout
    assert sandbox.get("dev", "apps/v1", "Deployment", "shop", "web") == before
    created = kubectl("create", "-f", "-", "--dry-run=server",
                      input=CM.format(name="ghost", ns="shop"))
    assert created.returncode == 0
    assert sandbox.get("dev", "v1", "ConfigMap", "shop", "ghost") is None
    assert sandbox.writes() == []


def test_replace_with_stale_resource_version_conflicts(sandbox: Sandbox, kubectl) -> None:
    kubectl("create", "-f", "-", input=CM.format(name="cfg", ns="default"))
    stale = sandbox.get("dev", "v1", "ConfigMap", "default", "cfg")
    kubectl("annotate", "configmap/cfg", "x=1")
    stale["data"] = {"a": "changed"}
    result = kubectl("replace", "-f", "-", input=json.dumps(stale))
    assert result.returncode == 1
    assert "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified" \
        in result.stderr


@pytest.mark.parametrize("selector", ["app=web", "app in (web)"])
def test_get_pods_of_a_deployment(sandbox: Sandbox, kubectl, shop: Path, selector: str) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    pods = json.loads(kubectl("get", "pods", "-n", "shop", "-l", selector, "-o", "json").stdout)
    assert len(pods["items"]) == 2
    for pod in pods["items"]:
        assert pod["status"]["phase"] == "Running"
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"] is True and status["image"] == "nginx:1.25"
        assert status["imageID"].startswith("docker-pullable://nginx@sha256:")
        owner = pod["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "ReplicaSet" and owner["controller"] is True


def test_get_prints_server_side_columns(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    deployments = kubectl("get", "deployments", "-n", "shop").stdout.splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[2].split()[:4] == ["web", "2/2", "2", "2"]
    pods = kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "wide").stdout
    header, *rows = pods.splitlines()
    assert header.split()[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    assert len(rows) == 2 and all(r.split()[1:3] == ["1/1", "Running"] for r in rows)
    namespaces = kubectl("get", "namespace", "shop", "--show-labels").stdout.splitlines()
    assert namespaces[1].split()[:2] == ["shop", "Active"]
    assert "kubernetes.io/metadata.name=shop" in namespaces[1]
    # kinds without a printer fall back to kubectl's own NAME/AGE
    kubectl("create", "-f", "-", input=(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\n"
        "metadata: {name: lock, namespace: shop}\nspec: {holderIdentity: me}\n"))
    assert kubectl("get", "leases", "-n", "shop").stdout.split()[:3] == ["NAME", "AGE", "lock"]


CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: default}}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: report
            image: example/backend:{tag}
            command: [sh, -c, echo report]
"""
PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: backend, namespace: default}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: backend}
"""


def test_apply_changes_the_image_of_a_cronjob(sandbox: Sandbox, kubectl) -> None:
    """kubectl apply patches the containers two levels down a CronJob by name
    ($setElementOrder/containers): the image changes, the rest of the container stays."""
    assert kubectl("apply", "-f", "-", input=CRONJOB.format(tag="1.0")).returncode == 0
    result = kubectl("apply", "-f", "-", input=CRONJOB.format(tag="1.1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cronjob.batch/report configured"
    cronjob = sandbox.get("dev", "batch/v1", "CronJob", "default", "report")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "example/backend:1.1"
    assert container["command"] == ["sh", "-c", "echo report"]


def test_apply_of_an_unchanged_disruption_budget_writes_nothing(sandbox: Sandbox,
                                                                kubectl) -> None:
    """kubectl sends a PodDisruptionBudget's selector on every apply (patchStrategy replace),
    so it says "configured"; the server finds nothing changed and keeps its resourceVersion."""
    assert kubectl("apply", "-f", "-", input=PDB).returncode == 0
    before = sandbox.get("dev", "policy/v1", "PodDisruptionBudget", "default", "backend")
    result = kubectl("apply", "-f", "-", input=PDB)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "poddisruptionbudget.policy/backend configured"
    after = sandbox.get("dev", "policy/v1", "PodDisruptionBudget", "default", "backend")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_get_jobs_shows_how_long_a_job_ran(sandbox: Sandbox, kubectl) -> None:
    """The DURATION column: from the Job's startTime to its completionTime."""
    job = sandbox.create("dev", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate",
                                                              "namespace": "default"},
        "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                        "containers": [{"name": "m",
                                                                        "image": "m:1"}]}}}})
    listed = kubectl("get", "jobs").stdout.splitlines()
    assert listed[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert listed[1].split()[:3] == ["migrate", "Suspended", "0/1"]  # not started: no duration
    job["status"] = {"startTime": "2026-01-01T10:00:00Z", "completionTime":
                     "2026-01-01T10:02:05Z", "succeeded": 1, "conditions": [
                         {"type": "Complete", "status": "True"}]}
    sandbox.store("dev").update(by_kind("batch/v1", "Job"), job, subresource="status")
    row = kubectl("get", "jobs").stdout.splitlines()[1].split()
    assert row[:4] == ["migrate", "Complete", "1/1", "2m5s"]


def test_an_object_with_finalizers_is_deleted_when_its_last_finalizer_goes(
        sandbox: Sandbox, kubectl) -> None:
    created = kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": "default",
                     "finalizers": ["example.com/a", "example.com/b"]}}))
    assert created.returncode == 0, created.stderr
    deleted = kubectl("delete", "configmap", "held", "-n", "default", "--wait=false")
    assert deleted.returncode == 0 and 'configmap "held" deleted' in deleted.stdout
    held = sandbox.get("dev", "v1", "ConfigMap", "default", "held")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"][
        "deletionGracePeriodSeconds"] == 0
    added = kubectl("patch", "configmap", "held", "-n", "default", "--type=json", "-p",
                    '[{"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/c"}]')
    assert added.returncode == 1
    assert ('The ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers '
            'can be added if the object is being deleted, found new finalizers '
            '[]string{"example.com/c"}') in added.stderr
    waited = kubectl("wait", "--for=delete", "configmap/held", "-n", "default", "--timeout=1s")
    assert waited.returncode == 1  # still there
    one = kubectl("patch", "configmap", "held", "-n", "default", "--type=json", "-p",
                  '[{"op": "remove", "path": "/metadata/finalizers/0"}]')
    assert one.returncode == 0, one.stderr
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "held") is not None
    last = kubectl("patch", "configmap", "held", "-n", "default", "--type=merge", "-p",
                   '{"metadata": {"finalizers": null}}')
    assert last.returncode == 0, last.stderr
    assert sandbox.get("dev", "v1", "ConfigMap", "default", "held") is None
