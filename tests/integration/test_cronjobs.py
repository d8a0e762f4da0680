"""A CronJob running the app image carries the same reference as the Deployment in every
environment (invoke -> real kubectl -> the sandbox or a real cluster)."""

from __future__ import annotations

import json

from conftest import CLUSTERS, REGISTRY, output
from test_failures import add_resource

BACKEND = f"{REGISTRY}/backend"


def cronjob() -> dict:
    container = {"name": "report", "image": f"{BACKEND}:1.4.0",
                 "command": ["sh", "-c", "echo report"]}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report"},
        "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": {"spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}},
    }


def cron_image(project, env: str) -> str:
    obj = project.cluster.get(env, "batch/v1", "CronJob", project.namespace(env), "report")
    assert obj is not None, f"cronjob report missing in {env}"
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]


def test_a_cronjob_on_the_backend_image_follows_the_deployment_through_the_chain(project):
    for env in CLUSTERS:
        add_resource(project, env, "report-cronjob.yaml", cronjob())
    result = project.invoke("deploy-all", "--yes", "--image", f"backend={BACKEND}:1.6.0")
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "cronjob/report: create, report 1.6.0" in text

    assert cron_image(project, "dev") == project.image("dev", "backend") == f"{BACKEND}:1.6.0"
    pinned = project.image("staging", "backend")
    assert pinned.startswith(f"{BACKEND}:1.6.0@sha256:")
    assert cron_image(project, "staging") == pinned
    assert cron_image(project, "prod") == project.image("prod", "backend") == pinned
    assert text.count("workloads and pods run the promoted images") == 3

    status = project.invoke("status")
    assert status.returncode == 0, output(status)
    assert "cronjob/report" in status.stdout
    assert "schedule '0 3 * * *'" in status.stdout

    history = project.invoke("history", "--env", "prod", "--json")
    assert history.returncode == 0, output(history)
    record = json.loads(history.stdout)["records"][0]
    assert record["images_after"]["cronjob/report"] == {"report": pinned}
