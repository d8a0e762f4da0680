"""--namespace, --context, --timeout and --kubeconfig win over the configuration for one run,
end to end: invoke -> the real kubectl -> the sandbox (or a real cluster)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import output
from test_failures import BROKEN, error_line, lease, refused, seeded, set_progress_deadline


def test_n_deploys_into_that_namespace(project):
    moved = f"{project.namespace('dev')}-moved"
    project.namespaces["moved"] = moved  # deleted with the test's namespaces
    result = project.invoke("deploy", "--env", "dev", "-n", moved)
    assert result.returncode == 0, output(result)
    assert project.cluster.get("dev", "apps/v1", "Deployment", moved, "backend") is not None
    assert project.deployment("dev", "backend") is None  # not in the configured namespace
    status = project.invoke("status", "--env", "dev", "--namespace", moved, "--json")
    assert status.returncode == 0, output(status)
    info = json.loads(status.stdout)["environments"]["dev"]
    assert info["namespace"] == moved
    assert info["last_promotion"] and {row["workload"] for row in info["workloads"]} >= {
        "deployment/backend", "deployment/frontend"}


@pytest.mark.two_clusters
def test_context_picks_the_cluster(project):
    result = project.invoke("deploy", "--env", "dev", "--context", project.context("staging"))
    assert result.returncode == 0, output(result)
    assert project.image_in("staging", project.namespace("dev"), "backend")
    assert project.deployment("dev", "backend") is None


def test_timeout_flag_wins_over_the_configured_timeout(project):
    set_progress_deadline(project, 6000)  # the broken image never becomes ready
    seeded(project)
    good = project.image("dev", "backend")
    assert project.env_settings("dev")["timeout"] >= 30
    result = project.invoke("deploy-dev", "--timeout", "1", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    assert "timeout 1s" in result.stdout
    assert "did not roll out: error: timed out waiting for the condition" in error_line(result)
    assert project.image("dev", "backend") == good
    assert lease(project) is None


def test_kubeconfig_flag_is_the_kubeconfig_of_every_call(project, tmp_path):
    other = tmp_path / "other-kubeconfig"
    shutil.copy(project.kubeconfig, other)
    project.settings["kubeconfig"] = str(tmp_path / "configured-but-missing")
    result = project.invoke("deploy-dev", "--kubeconfig", str(other))
    assert result.returncode == 0, output(result)
    assert project.deployment("dev", "backend") is not None
    assert refused(project, 1, "deploy-dev", "--kubeconfig", "nowhere", reads=True) == \
        "error: --kubeconfig 'nowhere': no such file"
