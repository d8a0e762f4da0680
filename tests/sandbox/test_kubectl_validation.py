"""Real kubectl (every available version) against the sandbox's schema validation, immutable
fields and server-side dry runs: what is refused, with the API server's words, and what is
stored."""

from __future__ import annotations

import http.client
import json
import re

import pytest

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.resources import by_kind

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""
TYPOS = DEPLOYMENT.format(replicas=2).replace(
    "  selector:", "  progressDeadlineSecond: 5\n  selector:").replace(
    "image: nginx:1.25", "image: nginx:1.25\n        imagePullPolicyy: Always")
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {{app: web}}
  ports:
  - port: 80
{extra}"""
CM = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
      "data:\n  a: b\n")


def _web(sandbox: Sandbox) -> dict | None:
    return sandbox.get("dev", "apps/v1", "Deployment", "default", "web")


# --- unknown fields and wrong types ----------------------------------------------------------

def test_typos_at_any_depth_are_refused_on_create(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "-f", "-", input=TYPOS)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" '
        'cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.progressDeadlineSecond", unknown field '
        '"spec.template.spec.containers[0].imagePullPolicyy"')
    assert _web(sandbox) is None


def test_a_typo_in_a_change_is_refused_by_the_patch(sandbox: Sandbox, kubectl) -> None:
    assert kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=2)).returncode == 0
    before = _web(sandbox)["spec"]
    changed = DEPLOYMENT.format(replicas=3).replace("  selector:", "  replicass: 3\n  selector:")
    result = kubectl("apply", "-f", "-", input=changed)
    assert result.returncode == 1
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith('The request is invalid: patch: Invalid value: "map[metadata:')
    assert result.stderr.strip().endswith('": strict decoding error: unknown field '
                                          '"spec.replicass"')
    assert _web(sandbox)["spec"] == before


@pytest.mark.parametrize("flag", ["--validate=false", "--validate=ignore", "--validate=strict"])
def test_a_wrong_type_is_refused_whatever_the_validation(sandbox: Sandbox, kubectl,
                                                         flag: str) -> None:
    result = kubectl("apply", flag, "-f", "-", input=DEPLOYMENT.format(replicas='"two"'))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" '
        "cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field "
        "DeploymentSpec.spec.replicas of type int32")
    assert _web(sandbox) is None


def test_warn_stores_without_the_unknown_fields_and_prints_warnings(sandbox: Sandbox,
                                                                    kubectl) -> None:
    result = kubectl("apply", "--validate=warn", "-f", "-", input=TYPOS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deployment.apps/web created"
    assert result.stderr.splitlines() == [
        'Warning: unknown field "spec.progressDeadlineSecond"',
        'Warning: unknown field "spec.template.spec.containers[0].imagePullPolicyy"']
    stored = _web(sandbox)
    assert "progressDeadlineSecond" not in stored["spec"]
    assert "imagePullPolicyy" not in stored["spec"]["template"]["spec"]["containers"][0]


def test_ignore_stores_without_the_unknown_fields_silently(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "--validate=false", "-f", "-", input=TYPOS)
    assert (result.returncode, result.stderr) == (0, "")
    assert "progressDeadlineSecond" not in _web(sandbox)["spec"]


def test_server_side_apply_refuses_undeclared_fields(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "--server-side", "-f", "-", input=TYPOS)
    assert result.returncode == 1
    # the walk of an object stops at its first undeclared field (here all of spec)
    assert result.stderr.strip() == (
        "Error from server: failed to create typed patch object (default/web; apps/v1, "
        "Kind=Deployment): .spec.progressDeadlineSecond: field not declared in schema")
    assert _web(sandbox) is None


def test_kubectl_patch_warns_by_default_and_json_patch_types_are_checked(sandbox: Sandbox,
                                                                         kubectl) -> None:
    kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=2))
    merged = kubectl("patch", "deployment/web", "--type=merge", "-p",
                     '{"spec": {"replicass": 3, "replicas": 3}}')
    assert merged.returncode == 0, merged.stderr
    assert merged.stderr.strip() == 'Warning: unknown field "spec.replicass"'
    assert _web(sandbox)["spec"]["replicas"] == 3 and "replicass" not in _web(sandbox)["spec"]
    wrong = kubectl("patch", "deployment/web", "--type=json", "-p",
                    '[{"op": "replace", "path": "/spec/replicas", "value": "x"}]')
    assert wrong.returncode == 1
    assert wrong.stderr.startswith('The request is invalid: patch: Invalid value: "{\\"apiVersion'
                                   '\\":\\"apps/v1\\"')
    assert wrong.stderr.strip().endswith(
        '": json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of '
        "type int32")


def test_warning_headers_on_the_wire(sandbox: Sandbox) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "w", "labelz": {}}, "dataa": {}}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        conn.request("POST", "/clusters/dev/api/v1/namespaces/default/configmaps", body=body,
                     headers={"Authorization": f"Bearer {sandbox.token}",
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 201
    assert response.headers.get_all("Warning") == [
        '299 - "unknown field \\"metadata.labelz\\""', '299 - "unknown field \\"dataa\\""']


# --- values the API server refuses ----------------------------------------------------------

BUDGET = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: backend
  namespace: default
spec:
{limits}
  selector:
    matchLabels: {{app: backend}}
"""
#: How the API server prints the (internal, unmarshalable) spec: with Go pointers.
BUDGET_SPEC = re.escape("policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(") \
    + "0xc[0-9a-f]+" + re.escape("), Selector:(*v1.LabelSelector)(") + "0xc[0-9a-f]+" \
    + re.escape("), MaxUnavailable:(*intstr.IntOrString)(") + "0xc[0-9a-f]+" \
    + re.escape("), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}")


@pytest.mark.parametrize("dry_run", [[], ["--dry-run=server"]], ids=["apply", "dry-run"])
def test_a_disruption_budget_with_both_limits_is_invalid(sandbox: Sandbox, kubectl,
                                                         dry_run: list[str]) -> None:
    both = BUDGET.format(limits="  minAvailable: 1\n  maxUnavailable: 1")
    result = kubectl("apply", *dry_run, "-f", "-", input=both)
    assert result.returncode == 1
    assert re.fullmatch(
        re.escape('The PodDisruptionBudget "backend" is invalid: spec: Invalid value: ')
        + BUDGET_SPEC + re.escape(": minAvailable and maxUnavailable cannot be both set"),
        result.stderr.strip()), result.stderr
    assert sandbox.get("dev", "policy/v1", "PodDisruptionBudget", "default", "backend") is None


def test_a_disruption_budget_limit_may_not_be_negative(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "-f", "-", input=BUDGET.format(limits="  maxUnavailable: -1"))
    assert result.returncode == 1
    assert result.stderr.strip() == ('The PodDisruptionBudget "backend" is invalid: '
                                     'spec.maxUnavailable: Invalid value: -1: must be greater '
                                     'than or equal to 0')
    one = kubectl("apply", "-f", "-", input=BUDGET.format(limits="  minAvailable: 50%"))
    assert one.returncode == 0, one.stderr


# --- immutable fields ------------------------------------------------------------------------

def test_service_cluster_ip_is_immutable_and_kept_when_unset(sandbox: Sandbox, kubectl) -> None:
    pinned = "  clusterIP: {}\n".format
    created = kubectl("apply", "-f", "-", input=SERVICE.format(extra=pinned("10.96.100.100")))
    assert created.returncode == 0, created.stderr
    changed = kubectl("apply", "-f", "-", input=SERVICE.format(extra=pinned("10.96.100.200")))
    assert changed.returncode == 1
    assert changed.stderr.strip() == (
        'The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.100.200"]: '
        "may not change once set")
    replaced = kubectl("replace", "-f", "-", input=SERVICE.format(extra=""))
    assert replaced.returncode == 0, replaced.stderr
    spec = sandbox.get("dev", "v1", "Service", "default", "web")["spec"]
    assert (spec["clusterIP"], spec["clusterIPs"]) == ("10.96.100.100", ["10.96.100.100"])


def test_workload_selector_is_immutable(sandbox: Sandbox, kubectl) -> None:
    kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=1))
    moved = DEPLOYMENT.format(replicas=1).replace("{app: web}", "{app: web2}")
    result = kubectl("apply", "-f", "-", input=moved)
    assert result.returncode == 1
    assert 'The Deployment "web" is invalid: spec.selector: Invalid value: ' \
           '{"matchLabels":{"app":"web2"}}: field is immutable' in result.stderr


def test_claim_spec_is_immutable_but_storage_may_grow(sandbox: Sandbox, kubectl) -> None:
    claim = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data, namespace: "
             "default}}\nspec:\n  accessModes: [{mode}]\n  resources: {{requests: {{storage: "
             "{size}}}}}\n")
    assert kubectl("apply", "-f", "-", input=claim.format(mode="ReadWriteOnce", size="1Gi")
                   ).returncode == 0
    grown = kubectl("apply", "-f", "-", input=claim.format(mode="ReadWriteOnce", size="2Gi"))
    assert grown.returncode == 0, grown.stderr
    result = kubectl("apply", "-f", "-", input=claim.format(mode="ReadWriteMany", size="2Gi"))
    assert result.returncode == 1
    assert result.stderr.startswith(
        'The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after '
        "creation except resources.requests and volumeAttributesClassName for bound claims")


# --- server-side dry runs --------------------------------------------------------------------

def test_dry_runs_store_nothing(sandbox: Sandbox, kubectl) -> None:
    kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=2))
    kubectl("create", "-f", "-", input=CM.format(name="cfg", ns="default"))
    assert kubectl("rollout", "status", "deployment/web").returncode == 0  # controllers at rest
    store = sandbox.store("dev")
    before = sorted((rt.kind, json.dumps(obj, sort_keys=True)) for rt, obj in store.all_objects())
    rv = store.resource_version
    rt = by_kind("v1", "ConfigMap")
    watcher, _ = store.watch(rt, None, lambda obj: True, rv)
    try:
        steps = [
            ("apply", "--dry-run=server", "-f", "-", DEPLOYMENT.format(replicas=5),
             "deployment.apps/web configured (server dry run)"),
            ("apply", "--dry-run=server", "-f", "-", CM.format(name="new", ns="default"),
             "configmap/new created (server dry run)"),
            ("apply", "--server-side", "--dry-run=server", "-f", "-",
             CM.format(name="ssa", ns="default"), "configmap/ssa serverside-applied (server dry "
             "run)"),
            ("create", "--dry-run=server", "-f", "-", CM.format(name="ghost", ns="default"),
             "configmap/ghost created (server dry run)"),
            ("replace", "--dry-run=server", "-f", "-",
             CM.format(name="cfg", ns="default").replace("a: b", "a: c"),
             "configmap/cfg replaced (server dry run)"),
            ("patch", "configmap/cfg", "--dry-run=server", "-p", '{"data": {"a": "d"}}', None,
             "configmap/cfg patched"),
            ("delete", "configmap/cfg", "--dry-run=server", None, 'configmap "cfg" deleted'),
            ("delete", "deployment/web", "--dry-run=server", None,
             'deployment.apps "web" deleted'),
        ]
        for *args, stdin, expected in steps:
            result = kubectl(*args, input=stdin)
            assert result.returncode == 0, (args, result.stderr)
            assert result.stdout.startswith(expected), (args, result.stdout)
            if args[0] != "patch":  # kubectl patch does not say it was a dry run
                assert result.stdout.rstrip().endswith("(server dry run)"), result.stdout
        assert store.resource_version == rv
        assert watcher.queue.empty()
    finally:
        store.unwatch(watcher)
    after = sorted((rt.kind, json.dumps(obj, sort_keys=True)) for rt, obj in store.all_objects())
    assert after == before


def test_a_dry_run_create_in_a_missing_namespace_is_not_found(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("create", "--dry-run=server", "-f", "-", input=CM.format(name="x", ns="nope"))
    assert result.returncode == 1
    assert 'Error from server (NotFound): error when creating "STDIN": namespaces "nope" not ' \
           "found" in result.stderr


def test_a_dry_run_is_still_validated(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=TYPOS)
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.progressDeadlineSecond"' in result.stderr
