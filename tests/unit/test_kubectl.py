"""Argument lists for kubectl: explicit namespace and context, no shell involved."""

import shlex

from globepay_tasks import apply_errors, kubectl
from globepay_tasks.kubectl import Target, WorkloadRef
from globepay_tasks.validation import check_image_reference

TARGET = Target("kubectl", "globepay-prod", "prod ctx", "/tmp/kube config")
BACKEND = WorkloadRef("Deployment", "backend")


def test_every_call_names_namespace_context_and_kubeconfig():
    argv = kubectl.apply_server_side_json(TARGET, "/tmp/m.json")
    assert argv == ["kubectl", "--kubeconfig", "/tmp/kube config", "--context", "prod ctx",
                    "--namespace", "globepay-prod", "apply", "-f", "/tmp/m.json",
                    "--server-side", "--field-manager=globepay-tasks", "--force-conflicts",
                    "--output", "json"]
    assert shlex.split(shlex.join(argv)) == argv


def test_context_is_omitted_when_not_configured():
    argv = kubectl.watch_workloads(Target("kubectl", "globepay-dev"), "Deployment", 30)
    assert argv == ["kubectl", "--namespace", "globepay-dev", "get", "deployment", "--watch",
                    "--output", "json", "--output-watch-events"]


def test_every_request_has_a_time_limit_and_a_wait_the_time_it_waits():
    bounded = Target("kubectl", "globepay-dev", request_timeout=7.5)
    assert "--request-timeout=8s" in kubectl.rollout_undo(bounded, BACKEND)
    assert "--request-timeout=8s" in kubectl.version(bounded)
    assert "--request-timeout=120s" in kubectl.watch_workloads(bounded, "Deployment", 119.2)
    assert "--request-timeout=300s" in kubectl.delete_objects(bounded, ["job.batch/x"], 300)


def test_writes_are_told_from_reads():
    bounded = Target("kubectl", "globepay-dev", request_timeout=7)
    assert kubectl.call(kubectl.apply_file(bounded, "m.yaml")) == ("write", 7)
    assert kubectl.call(kubectl.rollout_undo(TARGET, BACKEND, 3)) == ("write", None)
    assert kubectl.call(kubectl.set_last_applied_file(TARGET, "m.yaml"))[0] == "write"
    assert kubectl.call(kubectl.delete(TARGET, "configmaps", ["globepay-history-3"]))[0] == (
        "write")
    assert kubectl.call(kubectl.get_workloads(bounded)) == ("read", 7)
    assert kubectl.call(kubectl.version(TARGET))[0] == "read"
    for other in (kubectl.apply_dry_run(TARGET, "m.yaml"), kubectl.diff_file(TARGET, "m.yaml"),
                  kubectl.watch_workloads(TARGET, "Deployment", 30),
                  ["./migrate", "apply"], "kubectl apply -f m.yaml"):  # a hook's commands
        assert kubectl.call(other)[0] == "", other


def test_undo_with_and_without_revision():
    assert kubectl.rollout_undo(TARGET, BACKEND)[-3:] == ["rollout", "undo", "deployment/backend"]
    assert kubectl.rollout_undo(TARGET, BACKEND, 3)[-1] == "--to-revision=3"


def test_service_proxy_path_and_raw_get_is_not_namespaced():
    path = kubectl.service_proxy_path("globepay-dev", "backend", "http", "/health/ready")
    assert path == "/api/v1/namespaces/globepay-dev/services/backend:http/proxy/health/ready"
    argv = kubectl.get_raw(TARGET, path)
    assert "--namespace" not in argv and argv[-2:] == ["--raw", path]


def test_workloads_in_render_order():
    manifest = """
apiVersion: v1
kind: Namespace
metadata: {name: globepay-dev}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: globepay-dev}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: globepay-dev}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: globepay-dev}
"""
    refs = kubectl.workloads_in(kubectl.parse_manifest(manifest))
    assert [r.ref for r in refs] == ["statefulset/db", "deployment/backend", "job/migrate"]
    assert [r.can_roll_back for r in refs] == [True, True, False]


def test_image_references():
    for good in ["nginx", "nginx:1.25", "registry.globepay.dev:5000/globepay/backend:1.4.0",
                 "ghcr.io/a/b@sha256:" + "a" * 64, "ghcr.io/a/b:1.0@sha256:" + "b" * 64]:
        assert check_image_reference(good) == good
    import pytest

    from globepay_tasks.errors import ConfigError
    for bad in ["nginx;rm -rf /", "Nginx:1", "nginx:$(id)", "a b", "nginx@sha256:xyz", ""]:
        with pytest.raises(ConfigError, match="not valid"):
            check_image_reference(bad)


def test_undo_of_several_workloads_and_what_kubectl_says_about_each():
    frontend = WorkloadRef("Deployment", "frontend")
    argv = kubectl.rollout_undo(TARGET, [BACKEND, frontend], 4)
    assert argv[-4:] == ["undo", "deployment/backend", "deployment/frontend", "--to-revision=4"]
    assert kubectl.names_object("deployment.apps/backend rolled back", BACKEND)
    assert not kubectl.names_object("deployment.apps/backend-v2 rolled back", BACKEND)
    assert not kubectl.names_object("statefulset.apps/backend rolled back", BACKEND)


def _objects() -> list[dict]:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": "shop"}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "api", "namespace": "shop"}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "web", "namespace": "shop"}}]


def test_rejected_maps_each_refusal_to_its_object_in_manifest_order():
    stdout = "namespace/shop\nservice/web\n"
    stderr = (
        'Error from server (BadRequest): error when creating "/tmp/m.yaml": Deployment in '
        'version "v1" cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.replicass"\n'
        "Error from server (BadRequest): error when applying patch:\n"
        '{"spec":{"minReadySeconds":"five"}}\n'
        "to:\n"
        'Resource: "apps/v1, Resource=deployments", GroupVersionKind: "apps/v1, Kind=Deployment"\n'
        'Name: "api", Namespace: "shop"\n'
        'for: "/tmp/m.yaml": error when patching "/tmp/m.yaml": Deployment in version "v1" cannot '
        "be handled as a Deployment: json: cannot unmarshal string into Go struct field "
        "DeploymentSpec.spec.minReadySeconds of type int32\n")
    assert apply_errors.rejected(_objects(), stdout, stderr) == [
        ("deployment/web", 'Deployment in version "v1" cannot be handled as a Deployment: strict '
                           'decoding error: unknown field "spec.replicass"'),
        ("deployment/api", 'Deployment in version "v1" cannot be handled as a Deployment: json: '
                           "cannot unmarshal string into Go struct field "
                           "DeploymentSpec.spec.minReadySeconds of type int32"),
    ]


def test_rejected_names_a_missing_namespace_and_ignores_warnings():
    stderr = ('Warning: something the server said\n'
              'Error from server (NotFound): error when creating "/tmp/m.yaml": namespaces '
              '"shop" not found\n')
    assert apply_errors.rejected(_objects()[:2], "namespace/shop\n", stderr) == [
        ("deployment/web", 'namespaces "shop" not found')]
    assert kubectl.server_version('{"serverVersion": {"gitVersion": "v1.37.1"}}') == "v1.37.1"
    assert kubectl.server_version("not json") is None


def test_rejected_names_a_kind_the_server_does_not_serve():
    objects = [*_objects(), {"apiVersion": "example.com/v1", "kind": "Widget",
                             "metadata": {"name": "web", "namespace": "shop"}}]
    stderr = ('error: resource mapping not found for name: "web" namespace: "shop" from '
              '"/tmp/m.yaml": no matches for kind "Widget" in version "example.com/v1"\n'
              "ensure CRDs are installed first\n")
    said = ('no matches for kind "Widget" in version "example.com/v1" (ensure CRDs are '
            'installed first)')
    stdout = "namespace/shop\ndeployment.apps/web\ndeployment.apps/api\nservice/web\n"
    assert apply_errors.rejected(objects, stdout, stderr) == [("widget/web", said)]


def test_refusals_names_each_object_kubectl_names():
    objects = [*_objects(), {"apiVersion": "example.com/v1", "kind": "Widget",
                             "metadata": {"name": "gizmo", "namespace": "shop"}}]
    stderr = ('Warning: something the server said\n'
              'Error from server (Invalid): error when creating "/tmp/m.yaml": ConfigMap "x" is '
              'invalid: data: Forbidden\n'
              'error: resource mapping not found for name: "gizmo" namespace: "shop" from '
              '"/tmp/m.yaml": no matches for kind "Widget" in version "example.com/v1"\n'
              "ensure CRDs are installed first\n")
    assert apply_errors.refusals(objects, stderr) == [
        'ConfigMap "x" is invalid: data: Forbidden',
        'widget/gizmo: no matches for kind "Widget" in version "example.com/v1" (ensure CRDs '
        'are installed first)']
    assert apply_errors.refusals(objects, "") == []


def test_a_group_with_a_dot_is_given_to_kubectl_with_its_version() -> None:
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"}
    assert kubectl.resource_of(ingress) == "ingress.networking.k8s.io"  # as kubectl prints it
    assert kubectl.resource_arg(ingress) == "ingress.v1.networking.k8s.io"
    assert kubectl.resource_arg({"apiVersion": "apps/v1", "kind": "Deployment"}) == (
        "deployment.apps")
    assert kubectl.resource_arg({"apiVersion": "v1", "kind": "Service"}) == "service"
