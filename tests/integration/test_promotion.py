"""The promotion tasks end to end: invoke -> real kubectl -> the sandbox (or a real cluster)."""

from __future__ import annotations

import re

import yaml
from conftest import REGISTRY, output, report

BACKEND = f"{REGISTRY}/backend"
BROKEN = f"{BACKEND}:9.9.9-broken"


def test_deploy_dev_rolls_out_every_rendered_workload(project):
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    for name in ("backend", "frontend"):
        obj = project.deployment("dev", name)
        assert obj["status"]["availableReplicas"] == obj["spec"]["replicas"] == 1
    assert project.image("dev", "backend").startswith(BACKEND + ":")
    text = output(result)
    assert "deployment/backend" in text and "deployment/frontend" in text
    assert re.search(r"wait: backend (1/1 ready|rolled out)", text)
    assert "summary" in text and "succeeded" in text
    assert project.deployment("staging", "backend") is None


def test_staging_is_gated_on_dev_and_prod_needs_yes(project):
    with project.untouched("staging"):
        result = project.invoke("deploy", "--env", "staging", "--overlay-images")
    assert result.returncode == 3
    assert "previous_healthy" in result.stderr and "nothing was changed" in result.stderr
    assert project.invoke("deploy", "--env", "dev").returncode == 0
    assert project.invoke("deploy", "--env", "staging").returncode == 0
    assert project.deployment("staging", "backend")["spec"]["replicas"] == 2
    result = project.invoke("deploy-prod", "--yes")
    assert result.returncode == 0, output(result)
    assert project.deployment("prod", "frontend")["spec"]["replicas"] == 3


def test_deploy_all_runs_the_chain_with_hooks(project, tmp_path):
    path = tmp_path / "report.json"
    result = project.invoke("deploy-all", "--yes", "--report", str(path))
    assert result.returncode == 0, output(result)
    text = output(result)
    assert text.index("== dev") < text.index("== staging") < text.index("== prod")
    assert "checks:previous_healthy" in text and "smoke" in text
    for env in ("dev", "staging", "prod"):
        assert project.deployment(env, "backend")["status"]["availableReplicas"] >= 1
    data = report(path)
    assert data["exit_code"] == 0
    assert [e["env"] for e in data["environments"]] == ["dev", "staging", "prod"]
    assert all(e["outcome"] == "succeeded" for e in data["environments"])


def test_broken_image_in_staging_stops_the_chain_and_rolls_back(project):
    project.settings["promote_images"] = False  # each environment runs its overlay's tags
    assert project.invoke("deploy-all", "--yes").returncode == 0
    good_image = project.image("staging", "backend")
    good_revision = project.revision("staging", "backend")
    prod_before = project.deployment("prod", "backend")["metadata"]["resourceVersion"]
    project.set_overlay_image("dev", "backend", "1.6.0")
    project.set_overlay_image("staging", "backend", "1.6.0-broken")

    with project.untouched("prod", locks=False):
        result = project.invoke("deploy-all", "--yes")

    assert result.returncode == 2, output(result)
    text = output(result)
    assert "exceeded its progress deadline" in text
    assert "rolled back" in text
    assert project.image("dev", "backend") == f"{BACKEND}:1.6.0"
    assert project.image("staging", "backend") == good_image
    assert int(project.revision("staging", "backend")) > int(good_revision)
    assert project.deployment("prod", "backend")["metadata"]["resourceVersion"] == prod_before


def test_failing_post_hook_rolls_back_with_exit_3(project):
    assert project.invoke("deploy-dev").returncode == 0
    before = project.image("dev", "backend")
    project.env_settings("dev")["post_promotion"] = ["echo checking $GLOBEPAY_ENV; exit 4"]
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 3, output(result)
    text = output(result)
    assert "checking dev" in text
    assert "post-promotion hook" in text and "exited 4" in text
    assert project.image("dev", "backend") == before


def test_failing_pre_hook_changes_nothing(project):
    assert project.invoke("deploy-dev").returncode == 0
    project.env_settings("dev")["pre_promotion"] = [["false"]]
    with project.untouched():
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 3, output(result)
    assert "nothing was changed" in output(result)


def test_workload_unchanged_by_the_apply_is_not_undone(project):
    assert project.invoke("deploy-dev").returncode == 0
    frontend_revision = project.revision("dev", "frontend")
    frontend_generation = project.deployment("dev", "frontend")["metadata"]["generation"]
    if project.sandbox:
        project.sandbox.clear_requests()
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    if project.sandbox:  # the request log shows every write; a real cluster its effects
        undo_writes = [r for r in project.writes("dev") if "deployments/frontend" in r.path
                       and r.query.get("fieldManager") != "globepay-tasks"]  # the apply's
        assert undo_writes == []
    assert project.revision("dev", "frontend") == frontend_revision
    assert project.deployment("dev", "frontend")["metadata"]["generation"] == \
        frontend_generation
    assert "deployment/backend rolled back" in output(result)
    assert "broken" not in project.image("dev", "backend")


def test_no_rollback_leaves_the_failure_in_place(project):
    assert project.invoke("deploy-dev").returncode == 0
    result = project.invoke("deploy-dev", "--no-rollback", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    assert "--no-rollback" in output(result)
    assert project.image("dev", "backend") == BROKEN


def test_rollback_previous_and_to_revision(project):
    for tag in ("1.5.1", "1.5.2", "1.5.3"):
        assert project.invoke("deploy-dev", "--image", f"backend={BACKEND}:{tag}").returncode == 0
    assert project.revision("dev", "backend") == "3"

    result = project.invoke("rollback", "--env", "dev", "--only", "backend")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.2"
    assert "revision 3 -> 4" in output(result)

    result = project.invoke("rollback", "--env", "dev", "--to-revision", "1", "--only",
                            "backend")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"


def test_rollback_only_after_a_failed_promotion_skips_its_revision(project):
    """A failed promotion leaves its broken revision as the previous one (its rollback made a
    newer one); ``--only`` goes back to before the latest promotion, as the record says,
    where a bare ``kubectl rollout undo`` would bring the broken image back."""
    for tag in ("1.5.1", "1.5.2"):
        assert project.invoke("deploy-dev", "--image", f"backend={BACKEND}:{tag}").returncode == 0
    assert project.invoke("deploy-dev", "--image", f"backend={BROKEN}").returncode == 2

    result = project.invoke("rollback", "--env", "dev", "--only", "backend")

    assert result.returncode == 0, output(result)
    assert "backend: to revision 1, as in release" in output(result)
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"


def test_rollback_skips_workloads_without_history(project):
    """With no release recorded to go back to (records of an older version of the tool are
    gone here), a rollback undoes the workloads alone, skipping those with one revision."""
    assert project.invoke("deploy-dev").returncode == 0
    assert project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1").returncode == 0
    deleted = project.kubectl("dev", "delete", "configmaps", "--namespace",
                              project.namespace("dev"), "--selector",
                              "globepay.dev/record=promotion")
    assert deleted.returncode == 0, deleted.stderr
    result = project.invoke("rollback", "--env", "dev")
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "no earlier release recorded: the workloads alone are rolled back" in text
    assert "no rollout history found" in text and "frontend" in text
    result = project.invoke("rollback", "--env", "dev", "--only", "frontend")
    assert result.returncode == 1
    assert "nothing could be rolled back" in output(result)


def test_preflight_refuses_a_broken_overlay_before_dev_is_touched(project):
    (project.root / "k8s/overlays/prod/kustomization.yaml").write_text(
        "resources:\n  - does-not-exist.yaml\n")
    with project.untouched():
        result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 1, output(result)
    assert "prod" in result.stderr and "preflight failed" in result.stderr


def test_dry_run_shows_each_plan_and_the_writes_it_would_make_and_writes_nothing(project):
    assert project.invoke("deploy-dev").returncode == 0
    with project.untouched():  # it reads the clusters for its plan, it writes nothing
        result = project.invoke("deploy-all", "--dry-run", "--image",
                                f"backend={BACKEND}:1.5.1")
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "dev      plan: deployment/backend: change, backend 1.5.0 -> 1.5.1 [deploy]" in text
    assert "dev      plan: deployment/frontend: unchanged [deploy]" in text
    assert "dev      plan: service/backend: unchanged [deploy]" in text
    assert "prod     plan: deployment/backend: create, backend 1.5.1 [deploy]" in text
    assert "prod     plan: namespace/globepay-prod: create [deploy]" in text
    commands = [line for line in text.splitlines() if line.startswith("+ ")]
    applies = [line for line in commands if " apply -f " in line]
    assert len(applies) == 3, "the writes are announced, not made"
    assert project.namespace("dev") in applies[0] and project.namespace("prod") in applies[2]
    assert not any("--dry-run=server" in line for line in commands), "the server's check ran"
    assert any("get deployment --watch" in line for line in commands)


def test_unknown_environment_is_a_usage_error(project):
    result = project.invoke("deploy", "--env", "qa")
    assert result.returncode == 1
    assert "unknown environment 'qa'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_confirmation_refused_without_yes_and_without_a_terminal(project):
    with project.untouched():
        result = project.invoke("deploy-prod")
    assert result.returncode == 1
    assert "--yes" in result.stderr


def test_an_overlay_with_a_job_passes_the_health_gates(project):
    """A completed Job is healthy to `checks:healthy` and `checks:previous_healthy` (a Job
    has no status.observedGeneration on a real API server)."""
    overlay = project.root / "k8s" / "overlays" / "dev"
    (overlay / "migrate.yaml").write_text(yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "database-migration"},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "migrate", "image": f"{BACKEND}:1.4.0", "command": ["true"]}]}}}}))
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization["resources"].append("migrate.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    project.env_settings("dev")["post_promotion"] = [{"python": "globepay_tasks.checks:healthy"}]
    dev = project.invoke("deploy-dev")
    assert dev.returncode == 0, output(dev)
    assert "dev: 3 workloads available" in dev.stdout
    staging = project.invoke("deploy-staging")
    assert staging.returncode == 0, output(staging)
    assert "previous_healthy: dev: 3 workloads available" in staging.stdout
