"""The apply is server-side (one PATCH an object, field manager ``globepay-tasks``), with each
object's last-applied configuration written as client-side ``kubectl apply`` writes it; an
object whose configuration leaves out a field it had goes client-side, so the field goes."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import output
from test_failures import BACKEND, seeded

from globepay_tasks import lastapplied
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION

SSA = "application/apply-patch+yaml"


def _live(project, kind: str, name: str) -> dict:
    got = project.kubectl("dev", "get", kind, name, "-n", project.namespace("dev"), "-o", "json")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def _apply_writes(project) -> list:
    """The apply's writes to dev's objects (not the lock, the record, the ApplySet parent)."""
    return [r for r in project.writes("dev") if r.query.get("dryRun") != "All"
            and not any(word in r.path + (r.body or "") for word in (
                "leases", "globepay-history", "globepay-applyset", "events"))]


@pytest.mark.sandbox_only("counts the apply's requests in the sandbox's request log")
def test_a_release_is_applied_server_side_one_request_an_object(project):
    seeded(project)  # written client-side by plain kubectl: the first run takes them over
    assert project.invoke("deploy-dev").returncode == 0
    project.sandbox.clear_requests()
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    writes = _apply_writes(project)
    assert writes and {(r.method, r.content_type, r.query.get("fieldManager"))
                       for r in writes} == {("PATCH", SSA, "globepay-tasks")}
    named_reads = [r for r in project.sandbox.requests if r.cluster == "dev"
                   and r.method == "GET" and r.path.endswith(("/configmaps/globepay-config",
                                                              "/services/backend"))]
    assert named_reads == []  # a client-side apply reads each object before patching it
    backend = _live(project, "deployment", "backend")
    text = backend["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    assert text == lastapplied.go_json(json.loads(text))  # as kubectl writes it
    assert json.loads(text)["spec"]["template"]["spec"]["containers"][0]["image"] == \
        f"{BACKEND}:1.7.0"
    view = project.kubectl("dev", "apply", "view-last-applied", "deployment/backend",
                           "-n", project.namespace("dev"), "-o", "json")
    assert json.loads(view.stdout) == json.loads(text)


def test_a_field_left_out_is_removed(project):
    assert project.invoke("deploy-dev").returncode == 0
    base = project.root / "k8s" / "base" / "configmap.yaml"
    config = yaml.safe_load(base.read_text())
    del config["data"]["API_URL"]
    base.write_text(yaml.safe_dump(config))
    if project.sandbox:
        project.sandbox.clear_requests()
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    live = _live(project, "configmap", "globepay-config")
    assert "API_URL" not in live["data"], live["data"]
    assert "API_URL" not in json.loads(live["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])[
        "data"]
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"
    if project.sandbox:  # the ConfigMap client-side (read, then patched), the rest server-side
        kinds = {(r.path.rsplit("/", 2)[-2], r.content_type) for r in _apply_writes(project)}
        assert ("configmaps", "application/strategic-merge-patch+json") in kinds
        assert ("deployments", SSA) in kinds and ("configmaps", SSA) not in kinds


@pytest.mark.sandbox_only("counts the apply's requests in the sandbox's request log")
def test_objects_the_namespace_holds_already_are_not_sent_again(project):
    base = project.root / "k8s" / "base"
    (base / "secret.yaml").write_text(yaml.safe_dump({  # read back as data, never stringData
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-token"},
        "type": "Opaque", "stringData": {"TOKEN": "t0k3n"}}))
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    kustomization["resources"].append("secret.yaml")
    (base / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    assert project.invoke("deploy-dev").returncode == 0
    project.sandbox.clear_requests()
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    assert _apply_writes(project) == []
    assert "deployment.apps/backend unchanged" in result.stdout
    assert f"plan: namespace/{project.namespace('dev')}: unchanged" in result.stdout
    checked = {r.path.rsplit("/", 2)[-2] for r in project.writes("dev")
               if r.query.get("dryRun") == "All"}
    assert not checked & {"configmaps", "services", "secrets"}, checked  # nor dry-run
    # an object changed by hand since: the read sees it, the apply sends it and restores it
    image = project.image("dev", "frontend")
    edited = project.kubectl("dev", "set", "image", "deployment/frontend", "frontend=nginx:9",
                             "-n", project.namespace("dev"))
    assert edited.returncode == 0, edited.stderr
    project.sandbox.clear_requests()
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "frontend") == image
    assert [r.path.rsplit("/", 1)[-1] for r in _apply_writes(project)] == ["frontend"]
