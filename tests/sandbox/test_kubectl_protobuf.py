"""kubectl's typed ``create`` commands, which send protobuf bodies (kubectl 1.32 and later)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.protobuf import PROTOBUF


def _posts(sandbox: Sandbox, plural: str) -> list[str | None]:
    """Content types of the POSTs to a collection."""
    return [r.content_type for r in sandbox.requests
            if r.method == "POST" and r.path.split("?")[0].endswith("/" + plural)]


def _namespace(sandbox: Sandbox, name: str = "shop") -> None:
    sandbox.create("dev", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_create_namespace(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("create", "namespace", "team-a")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "namespace/team-a created"
    assert _posts(sandbox, "namespaces") == [PROTOBUF]
    ns = sandbox.get("dev", "v1", "Namespace", None, "team-a")
    meta = ns["metadata"]
    assert set(meta) == {"name", "labels", "uid", "resourceVersion", "creationTimestamp"}
    assert meta["name"] == "team-a"
    assert meta["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    again = kubectl("create", "namespace", "team-a")
    assert again.returncode == 1
    assert 'namespaces "team-a" already exists' in again.stderr


def test_create_configmap_from_literals_and_a_binary_file(sandbox: Sandbox, kubectl,
                                                          tmp_path: Path) -> None:
    _namespace(sandbox)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes([0, 255, 16, 128]))
    result = kubectl("create", "configmap", "settings", "-n", "shop", "--from-literal=mode=prod",
                     "--from-literal=empty=", f"--from-file=blob={blob}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configmap/settings created"
    assert _posts(sandbox, "configmaps") == [PROTOBUF]
    cm = sandbox.get("dev", "v1", "ConfigMap", "shop", "settings")
    assert (cm["apiVersion"], cm["kind"]) == ("v1", "ConfigMap")
    assert cm["metadata"]["name"] == "settings" and cm["metadata"]["namespace"] == "shop"
    assert cm["data"] == {"mode": "prod", "empty": ""}
    assert cm["binaryData"] == {"blob": base64.b64encode(bytes([0, 255, 16, 128])).decode()}
    assert "immutable" not in cm


def test_create_secret_generic(sandbox: Sandbox, kubectl) -> None:
    _namespace(sandbox)
    result = kubectl("create", "secret", "generic", "db", "-n", "shop", "--from-literal=user=admin",
                     "--from-literal=password=s3=cr/t")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "secret/db created"
    typed = kubectl("create", "secret", "generic", "custom", "-n", "shop",
                    "--type=example.com/token", "--from-literal=token=abc")
    assert typed.returncode == 0, typed.stderr
    assert _posts(sandbox, "secrets") == [PROTOBUF, PROTOBUF]
    secret = sandbox.get("dev", "v1", "Secret", "shop", "db")
    assert secret["data"] == {"user": base64.b64encode(b"admin").decode(),
                              "password": base64.b64encode(b"s3=cr/t").decode()}
    assert secret["type"] == "Opaque"  # server default: kubectl sends no type
    assert "stringData" not in secret
    custom = sandbox.get("dev", "v1", "Secret", "shop", "custom")
    assert custom["type"] == "example.com/token"
    assert custom["data"] == {"token": "YWJj"}


def test_create_serviceaccount(sandbox: Sandbox, kubectl) -> None:
    _namespace(sandbox)
    result = kubectl("create", "serviceaccount", "robot", "-n", "shop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "serviceaccount/robot created"
    assert _posts(sandbox, "serviceaccounts") == [PROTOBUF]
    sa = sandbox.get("dev", "v1", "ServiceAccount", "shop", "robot")
    assert set(sa) == {"apiVersion", "kind", "metadata"}
    assert set(sa["metadata"]) == {"name", "namespace", "uid", "resourceVersion",
                                   "creationTimestamp"}


def test_create_with_server_dry_run_stores_nothing(sandbox: Sandbox, kubectl) -> None:
    result = kubectl("create", "namespace", "ghost", "--dry-run=server", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "namespace/ghost"
    assert sandbox.get("dev", "v1", "Namespace", None, "ghost") is None


POD_SPEC = {
    "restartPolicy": "Never",
    "serviceAccountName": "robot",
    "nodeSelector": {"disk": "ssd"},
    "containers": [{
        "name": "report", "image": "example/report:1.2", "command": ["/bin/report"],
        "args": ["--all", "--since=24h"],
        "env": [{"name": "MODE", "value": "nightly"},
                {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                          "fieldPath": "metadata.name"}}}],
        "ports": [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
    }],
}
CRONJOB = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "nightly", "namespace": "shop", "labels": {"app": "report"}},
    "spec": {"schedule": "0 3 * * *", "jobTemplate": {
        "metadata": {"labels": {"app": "report", "tier": "batch"},
                     "annotations": {"owner": "team-a"}},
        "spec": {"backoffLimit": 2, "activeDeadlineSeconds": 600,
                 "ttlSecondsAfterFinished": 3600,
                 "template": {"metadata": {"labels": {"app": "report"}}, "spec": POD_SPEC}}}},
}


def test_create_job_from_cronjob(sandbox: Sandbox, kubectl) -> None:
    _namespace(sandbox)
    cronjob = sandbox.create("dev", CRONJOB)
    result = kubectl("create", "job", "manual-1", "-n", "shop", "--from=cronjob/nightly")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "job.batch/manual-1 created"
    assert _posts(sandbox, "jobs") == [PROTOBUF]
    job = sandbox.get("dev", "batch/v1", "Job", "shop", "manual-1")
    meta = job["metadata"]
    assert meta["labels"] == {"app": "report", "tier": "batch"}
    assert meta["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual",
                                   "owner": "team-a"}
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob",
                                        "name": "nightly", "uid": cronjob["metadata"]["uid"],
                                        "controller": True}]
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"],
            spec["ttlSecondsAfterFinished"]) == (2, 600, 3600)
    assert spec["template"]["metadata"]["labels"]["app"] == "report"
    assert spec["template"]["metadata"]["labels"]["job-name"] == "manual-1"  # server default
    pod = spec["template"]["spec"]
    for key in ("restartPolicy", "serviceAccountName", "nodeSelector"):
        assert pod[key] == POD_SPEC[key]
    container = pod["containers"][0]
    for key, value in POD_SPEC["containers"][0].items():
        assert container[key] == value, key
    assert container["imagePullPolicy"] == "IfNotPresent"  # server default
    listed = kubectl("get", "jobs", "-n", "shop", "-o", "name")
    assert listed.stdout.split() == ["job.batch/manual-1"]


@pytest.mark.allow_unimplemented
def test_create_job_without_cronjob_is_refused_and_recorded(sandbox: Sandbox, kubectl) -> None:
    _namespace(sandbox)
    result = kubectl("create", "job", "plain", "-n", "shop", "--image=busybox:1.36")
    assert result.returncode == 1
    assert "the sandbox cannot decode Container field 8 at spec.template.spec.containers[0] " \
           "(only a Job created from a CronJob can take it from that CronJob)" in result.stderr
    assert [r.path.split("?")[0] for r in sandbox.unimplemented] == [
        "/apis/batch/v1/namespaces/shop/jobs"]
    assert sandbox.list("dev", "batch/v1", "Job") == []


@pytest.mark.allow_unimplemented
def test_create_deployment_is_refused_and_recorded(sandbox: Sandbox, kubectl) -> None:
    _namespace(sandbox)
    result = kubectl("create", "deployment", "web", "-n", "shop", "--image=nginx")
    assert result.returncode == 1
    assert "the sandbox cannot decode protobuf bodies of apps/v1 Deployment; send JSON " \
           "instead" in result.stderr
    assert len(sandbox.unimplemented) == 1
    assert sandbox.list("dev", "apps/v1", "Deployment") == []
