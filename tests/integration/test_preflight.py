"""The preflight asks the clusters: a server-side dry run of every environment before the
first write anywhere, and the Kubernetes schemas where a namespace does not exist yet
(invoke -> real kubectl -> the sandbox or a real cluster)."""

from __future__ import annotations

import yaml
from conftest import output

TYPO = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend"},
        "spec": {"progressDeadlineSecond": 120}}
WRONG_TYPE = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "frontend"},
              "spec": {"minReadySeconds": "five"}}


def patch_overlay(project, env: str, name: str, patch: dict) -> None:
    """Add a strategic-merge patch to a copied overlay."""
    overlay = project.root / "k8s" / "overlays" / env
    (overlay / name).write_text(yaml.safe_dump(patch))
    path = overlay / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("patches", []).append({"path": name})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def deployed(project) -> None:
    """Every environment promoted once (its namespace exists, its objects were applied)."""
    result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 0, output(result)


def dry_run_clusters(project) -> set[str]:
    """The clusters that received a server-side dry run (the sandbox's request log)."""
    return {r.cluster for r in project.sandbox.requests if r.query.get("dryRun") == "All"}


def test_a_typo_in_prod_stops_deploy_all_before_any_write(project):
    deployed(project)
    patch_overlay(project, "prod", "typo.yaml", TYPO)
    with project.untouched():
        result = project.invoke("deploy-all", "--yes")
        if project.sandbox is not None:
            assert dry_run_clusters(project) == {"dev", "staging", "prod"}
    assert result.returncode == 1, output(result)
    line = result.stderr.strip().splitlines()[-1]
    assert "preflight failed, nothing was changed: prod: deployment/backend would be " \
           "rejected" in line
    assert 'unknown field "spec.progressDeadlineSecond"' in line


def test_a_wrong_type_in_prod_is_refused_in_preflight(project):
    deployed(project)
    patch_overlay(project, "prod", "replicas.yaml", WRONG_TYPE)
    with project.untouched():
        result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 1, output(result)
    line = result.stderr.strip().splitlines()[-1]
    assert "prod: deployment/frontend would be rejected" in line
    # the server-side dry run types the applied object against the schema
    assert ".spec.minReadySeconds: expected numeric (int or float), got string" in line


def test_a_first_deploy_is_checked_against_the_schemas(project):
    """Where the namespace does not exist yet the server refuses a create with NotFound
    before validating it (an object it cannot type against the schema, as a server-side
    apply does first, it still refuses itself): the schemas check what the server could
    not."""
    patch_overlay(project, "prod", "typo.yaml", TYPO)
    overlay = project.root / "k8s" / "overlays" / "staging"
    (overlay / "extra.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra"},
         "spec": {"selector": {"app": "extra"}, "ports": [{"name": "http"}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "extra"}, "spec": {"maxReplicas": 2}}]))
    data = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    data["resources"].append("extra.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with project.untouched():
        result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 1, output(result)
    for env in ("dev", "staging", "prod"):
        assert f"namespace {project.namespace(env)} does not exist yet: its objects checked " \
               "against the Kubernetes 1.37 schemas instead" in result.stdout
    assert "staging  dry run: service/extra: .spec.ports: element 0: associative list with " \
        "keys has an element that omits all key fields" in result.stdout
    assert "staging  dry run: horizontalpodautoscaler/extra: spec: 'scaleTargetRef' is a " \
        "required property" in result.stdout
    assert 'prod     dry run: deployment/backend: unknown field "spec.progressDeadlineSecond"' \
        in result.stdout
    assert "preflight failed, nothing was changed: staging: service/extra would be rejected" \
        in result.stderr


def test_validate_asks_every_cluster_and_changes_nothing(project):
    deployed(project)
    with project.untouched():
        result = project.invoke("validate")
        if project.sandbox is not None:
            assert dry_run_clusters(project) == {"dev", "staging", "prod"}
    assert result.returncode == 0, output(result)


def test_validate_offline_uses_the_schemas_and_no_cluster(project):
    with project.untouched(reads=True):
        clean = project.invoke("validate", "--offline")
        assert clean.returncode == 0, output(clean)
        assert "objects valid for Kubernetes 1.37" in clean.stdout
        patch_overlay(project, "staging", "replicas.yaml", WRONG_TYPE)
        result = project.invoke("validate", "--offline")
    assert result.returncode == 1, output(result)
    assert "staging: deployment/frontend would be rejected: spec.minReadySeconds:" in result.stderr
