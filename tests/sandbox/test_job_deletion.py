"""Deleting Jobs (and the CronJobs owning them) collects their pods as the garbage collector
would: Background and Foreground delete them, Orphan keeps them, and batch/v1's default when
no propagationPolicy is given is Orphan (kubectl always sends Background)."""

from __future__ import annotations

import time

import pytest
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox

JOB = {"apiVersion": "batch/v1", "kind": "Job",
       "metadata": {"name": "migrate", "namespace": "default"},
       "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
           {"name": "migrate", "image": "example/migrate:1"}]}}}}
JOB_PATH = "/apis/batch/v1/namespaces/default/jobs"


def _job_pods(sandbox: Sandbox) -> list[dict]:
    return [p for p in sandbox.list("dev", "v1", "Pod", "default")
            if p["metadata"]["labels"].get("job-name") == "migrate"]


def _start_job(sandbox: Sandbox, owner: dict | None = None) -> dict:
    job = {**JOB, "metadata": dict(JOB["metadata"])}
    if owner is not None:
        job["metadata"]["ownerReferences"] = [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True}]
    created = sandbox.create("dev", job)
    deadline = time.monotonic() + 10
    while not _job_pods(sandbox):
        assert time.monotonic() < deadline, "the Job controller made no pod"
        time.sleep(0.02)
    return created


def test_kubectl_delete_job_removes_its_pods(sandbox: Sandbox, kubectl) -> None:
    _start_job(sandbox)
    deleted = kubectl("delete", "job", "migrate")
    assert deleted.returncode == 0, deleted.stderr
    assert sandbox.get("dev", "batch/v1", "Job", "default", "migrate") is None
    assert _job_pods(sandbox) == []


@pytest.mark.parametrize(("policy", "pods_kept"), [
    ("Background", False), ("Foreground", False), ("Orphan", True), (None, True)])
def test_job_deletion_follows_the_propagation_policy(sandbox: Sandbox, policy: str | None,
                                                     pods_kept: bool) -> None:
    _start_job(sandbox)
    body = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if policy:
        body["propagationPolicy"] = policy
    status, _, _ = request(sandbox, "DELETE", f"{JOB_PATH}/migrate", body=body)
    assert status == 200
    assert sandbox.get("dev", "batch/v1", "Job", "default", "migrate") is None
    pods = _job_pods(sandbox)
    assert bool(pods) is pods_kept
    for pod in pods:  # orphans: no owner left
        assert "ownerReferences" not in pod["metadata"]


def test_propagation_policy_as_a_query_parameter(sandbox: Sandbox) -> None:
    _start_job(sandbox)
    status, _, _ = request(sandbox, "DELETE", f"{JOB_PATH}/migrate?propagationPolicy=Background")
    assert status == 200
    assert _job_pods(sandbox) == []


def test_deleting_a_cronjob_deletes_its_jobs_and_their_pods(sandbox: Sandbox, kubectl) -> None:
    cronjob = sandbox.create("dev", {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": JOB["spec"]}}})
    _start_job(sandbox, owner=cronjob)
    deleted = kubectl("delete", "cronjob", "nightly")
    assert deleted.returncode == 0, deleted.stderr
    assert sandbox.list("dev", "batch/v1", "Job", "default") == []
    assert _job_pods(sandbox) == []
