"""Jobs in an overlay: one whose pod template changes is replaced (deleted with its pods, then
created again by the apply); one that does not change is left alone and not run again."""

from __future__ import annotations

from conftest import REGISTRY, output
from test_failures import add_resource, error_line, pod_template

BACKEND = f"{REGISTRY}/backend"


def migration(project, env: str = "dev") -> None:
    """A Job that runs the backend image (the overlay sets its tag, as for the Deployment)."""
    image = f"{BACKEND}:1.5.0"
    add_resource(project, env, "database-migration.yaml", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "database-migration"},
        "spec": {"backoffLimit": 1, "template": {
            **pod_template("database-migration", image),
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "migrate", "image": image, "command": ["true"]}
            ]}}}})


def job(project, env: str = "dev") -> dict:
    found = project.cluster.get(env, "batch/v1", "Job", project.namespace(env),
                                "database-migration")
    assert found is not None, "job/database-migration missing"
    return found


def job_writes(project) -> list[str]:
    """``METHOD`` of each write to a Job (sandbox only: the request log)."""
    return [r.method for r in project.writes("dev") if "/jobs" in r.path]


def test_changed_job_is_replaced_unchanged_job_left_alone(project):
    migration(project)
    first = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1")
    assert first.returncode == 0, output(first)
    uid = job(project)["metadata"]["uid"]
    if project.sandbox:
        project.sandbox.clear_requests()

    second = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.2")
    assert second.returncode == 0, output(second)
    assert "job/database-migration: replace, migrate 1.5.1 -> 1.5.2" in second.stdout
    assert "1 to change, 1 to replace, 0 to create" in second.stdout
    assert "job.batch/database-migration replaced" in second.stdout
    replaced = job(project)
    assert replaced["metadata"]["uid"] != uid
    assert replaced["spec"]["template"]["spec"]["containers"][0]["image"] == f"{BACKEND}:1.5.2"
    assert any(c["type"] == "Complete" and c["status"] == "True"
               for c in replaced["status"].get("conditions") or [])
    if project.sandbox:
        assert job_writes(project) == ["DELETE", "PATCH"]  # created by a server-side apply
        project.sandbox.clear_requests()

    third = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.2")
    assert third.returncode == 0, output(third)
    assert "job/database-migration: unchanged" in third.stdout
    assert job(project)["metadata"]["uid"] == replaced["metadata"]["uid"]
    if project.sandbox:
        assert "DELETE" not in job_writes(project)


def test_a_replaced_job_is_named_when_a_later_failure_rolls_back(project):
    migration(project)
    first = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1")
    assert first.returncode == 0, output(first)
    project.env_settings("dev")["post_promotion"] = ["exit 4"]

    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.2")

    assert result.returncode == 3, output(result)
    line = error_line(result)
    assert "post-promotion hook 'exit 4' failed: exited 4" in line
    assert ("job/database-migration: replaced by this run, not restored (what it ran stays "
            "done)") in line
    assert "rolled back deployment/backend" in line
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"
    image = job(project)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{BACKEND}:1.5.2"  # what the Job ran stays done


def test_a_job_that_failed_is_run_again_by_the_next_deploy(project):
    """A migration that failed (its image cannot start in the sandbox; its command fails on a
    real cluster) and was left in place (--no-rollback; by default the run deletes the Job it
    created) is not left failed by a retry with the same overlay: the retry replaces it and
    runs it again."""
    image = f"{REGISTRY}/migrate:1.0-broken"
    add_resource(project, "dev", "database-migration.yaml", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "database-migration"},
        "spec": {"backoffLimit": 0, "template": {
            **pod_template("database-migration", image),
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "migrate", "image": image, "command": ["false"]}]}}}})
    first = project.invoke("deploy-dev", "--no-rollback")
    assert first.returncode == 2, output(first)
    uid = job(project)["metadata"]["uid"]

    retry = project.invoke("deploy-dev")

    assert retry.returncode == 2, output(retry)
    assert "job/database-migration: replace, failed before: run again" in retry.stdout
    assert job(project)["metadata"]["uid"] != uid, "the failed Job was created again"


def test_rollback_to_the_release_replaces_a_changed_job(project):
    """A Job's template cannot change in place: going back to the earlier release deletes the
    Job the later one ran and creates the release's again."""
    migration(project)
    for tag in ("1.5.1", "1.5.2"):
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:{tag}")
        assert result.returncode == 0, output(result)
    uid = job(project)["metadata"]["uid"]

    back = project.invoke("rollback", "--env", "dev")

    assert back.returncode == 0, output(back)
    assert "job/database-migration: replace, migrate 1.5.2 -> 1.5.1" in back.stdout
    assert "job.batch/database-migration replaced" in back.stdout
    assert "deployment/frontend rolled back" not in back.stdout  # unchanged: left alone
    again = job(project)
    assert again["metadata"]["uid"] != uid
    assert again["spec"]["template"]["spec"]["containers"][0]["image"] == f"{BACKEND}:1.5.1"
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"
