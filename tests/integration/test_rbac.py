"""The deploying identity's RBAC (k8s/rbac, docs/rbac.md) on the sandbox, which authorizes an
added user's requests by the Roles and bindings stored in each cluster as an API server does:
a promotion, a failed one restored, a release rollback, a prune, the read-only tasks and an
unlock all pass as a user bound to exactly that role, and use every resource and verb it
grants; without one verb a run stops with the server's 403 and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import CLUSTERS, REGISTRY, output
from test_failures import add_resource, error_line, pod_template, put_lease

from globepay_tasks.sandbox.authz import request_attributes

pytestmark = pytest.mark.sandbox_only("adds a user to the sandbox")

USER = "globepay-deployer"
BACKEND = f"{REGISTRY}/backend"


def rbac(project) -> Path:
    return project.root / "k8s" / "rbac"


def role(project) -> dict:
    return yaml.safe_load((rbac(project) / "base" / "clusterrole.yaml").read_text())


def as_deployer(project, tmp_path: Path) -> None:
    """Apply k8s/rbac/<env> to each environment's cluster as the admin, then run the tasks
    as the user it binds."""
    for env in CLUSTERS:
        applied = project.kubectl(env, "apply", "-k", str(rbac(project) / env))
        assert applied.returncode == 0, applied.stderr
    kubeconfig = tmp_path / "deployer.kubeconfig"
    project.sandbox.add_user(USER, kubeconfig=kubeconfig)
    project.settings["kubeconfig"] = str(kubeconfig)


def run(project, *args: str, code: int = 0) -> str:
    result = project.invoke(*args)
    assert result.returncode == code, output(result)
    assert "Traceback" not in output(result)
    return output(result)


def annotate_all(project, env: str, note: str | None) -> None:
    """Give (or take away) every object of ``env``'s overlay an annotation."""
    path = project.root / "k8s" / "overlays" / env / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data.pop("commonAnnotations", None)
    if note:
        data["commonAnnotations"] = {"globepay.dev/note": note}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def used(project) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) of every request the deployer made."""
    found = set()
    for record in project.sandbox.requests:
        attrs = request_attributes(record.method, record.path, record.query)
        if record.user == USER and attrs.resource_request:
            resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource \
                else attrs.resource
            found.add((attrs.group, resource, attrs.verb))
    return found


def test_a_promotion_runs_on_exactly_the_shipped_role(project, tmp_path):
    as_deployer(project, tmp_path)
    run(project, "deploy-all", "--yes")
    add_resource(project, "dev", "worker.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "worker"},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "worker"}},
                 "template": pod_template("worker", f"{BACKEND}:1.5.0")}})
    run(project, "deploy-dev", "--image", f"backend={BACKEND}:1.6.0")
    run(project, "deploy-staging")

    annotate_all(project, "dev", "changes every object")
    text = run(project, "deploy-dev", "--image", f"backend={BACKEND}:9.9.9-broken", code=2)
    assert "restore:" in text
    assert project.image("dev", "backend") == f"{BACKEND}:1.6.0"
    config = project.cluster.get("dev", "v1", "ConfigMap", project.namespace("dev"),
                                 "globepay-config")
    assert "globepay.dev/note" not in (config["metadata"].get("annotations") or {})

    run(project, "rollback", "--env", "staging", "--yes")
    annotate_all(project, "dev", None)
    path = project.root / "k8s" / "overlays" / "dev" / "kustomization.yaml"
    path.write_text(path.read_text().replace("- worker.yaml\n", ""))
    project.settings["history_limit"] = 2
    assert "prune: deleted deployment/worker" in run(project, "deploy-dev")
    for args in (("diff", "--env", "dev"), ("status",), ("history", "--env", "dev"),
                 ("validate",)):
        run(project, *args)
    put_lease(project, "alice@ci-runner-7", age=900, ttl=60)
    assert "removed the lock held by alice@ci-runner-7" in run(project, "unlock", "--env", "dev")

    assert not [r for r in project.sandbox.requests if r.status == 403]
    requested = used(project)
    for rule in role(project)["rules"]:
        pairs = {(g, r) for g, r, _ in requested
                 if g in rule["apiGroups"] and r in rule["resources"]}
        assert {r for _, r in pairs} == set(rule["resources"]), rule
        assert {v for g, r, v in requested if (g, r) in pairs} >= set(rule["verbs"]), rule


def without(rules: list[dict], group: str, resource: str, verb: str) -> list[dict]:
    """``rules`` with ``verb`` taken away from ``resource`` in ``group`` only."""
    kept = []
    for rule in rules:
        if group in rule["apiGroups"] and resource in rule["resources"] \
                and verb in rule["verbs"]:
            kept.append({**rule, "resources": [r for r in rule["resources"] if r != resource]})
            kept.append({"apiGroups": [group], "resources": [resource],
                         "verbs": [v for v in rule["verbs"] if v != verb]})
        else:
            kept.append(rule)
    return kept


def test_a_missing_verb_stops_the_run_with_the_servers_403(project, tmp_path):
    as_deployer(project, tmp_path)
    run(project, "deploy-dev")
    reduced = role(project)
    reduced["rules"] = without(reduced["rules"], "apps", "deployments", "patch")
    project.sandbox.put("dev", reduced)

    with project.untouched():
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.6.0")
    assert result.returncode == 1, output(result)
    assert "Traceback" not in output(result)
    assert ('deployments.apps "backend" is forbidden: User "globepay-deployer" cannot patch '
            'resource "deployments" in API group "apps" in the namespace "globepay-dev"'
            in error_line(result))
