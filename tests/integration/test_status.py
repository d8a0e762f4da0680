"""``invoke status``: a rollout that is not done says so whatever its ready count, and every
object that differs from the overlay is named (invoke -> the real kubectl -> the sandbox)."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import output
from test_failures import BROKEN, add_resource, deployed, seeded, set_progress_deadline, wait_for


def status(project, *args: str) -> tuple[dict, str]:
    """``status --env dev``: its JSON's dev and its text, both exiting 0."""
    data = project.invoke("status", "--env", "dev", "--json", *args)
    text = project.invoke("status", "--env", "dev", *args)
    assert data.returncode == text.returncode == 0, output(data) + output(text)
    return json.loads(data.stdout)["environments"]["dev"], text.stdout


def backend(info: dict) -> dict:
    return next(r for r in info["workloads"] if r["workload"] == "deployment/backend")


@pytest.mark.sandbox_only("moves the sandbox's clock past the progress deadline")
def test_a_broken_rollout_is_progressing_then_failed_with_its_reason(project):
    set_progress_deadline(project, 6000)
    seeded(project)
    info, _ = status(project)
    assert (backend(info)["rollout"], backend(info)["reason"]) == ("rolled out", "")
    namespace = project.namespace("dev")
    changed = project.kubectl("dev", "-n", namespace, "set", "image", "deployment/backend",
                              f"backend={BROKEN}")
    assert changed.returncode == 0, changed.stderr

    def waiting(reason: str) -> bool:
        return any(s.get("state", {}).get("waiting", {}).get("reason") == reason
                   for pod in project.cluster.list("dev", "v1", "Pod", namespace)
                   for s in pod.get("status", {}).get("containerStatuses") or [])

    wait_for(lambda: waiting("ImagePullBackOff"))
    info, text = status(project)
    row = backend(info)
    assert (row["ready"], row["rollout"]) == ("1/1", "progressing")  # the old pod serves
    assert row["reason"].startswith("1 old replicas pending termination; pod backend-")
    assert f'ImagePullBackOff: Back-off pulling image "{BROKEN}"' in row["reason"]
    assert f"    progressing: {row['reason']}" in text.splitlines()

    project.sandbox.advance(6001)
    wait_for(lambda: any(c.get("reason") == "ProgressDeadlineExceeded" for c in (
        project.deployment("dev", "backend")["status"].get("conditions") or [])))
    info, text = status(project)
    row = backend(info)
    assert (row["ready"], row["rollout"]) == ("1/1", "failed")
    assert row["reason"].startswith("ProgressDeadlineExceeded: ReplicaSet \"backend-")
    assert "ImagePullBackOff" in row["reason"]
    line = next(line for line in text.splitlines() if line.startswith("  deployment/backend"))
    assert line.split()[1:5] == ["1/1", "rev", "2", "failed"]


def test_objects_that_differ_from_the_overlay_are_named_without_their_values(project):
    add_resource(project, "dev", "token.yaml", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-token"},
        "stringData": {"token": "original-token-value", "user": "svc"}})
    deployed(project, "dev")
    info, text = status(project)
    assert info["overlay"]["in_sync"] and info["overlay"]["objects"] == []
    assert "  overlay k8s/overlays/dev: in sync (6 objects)" in text.splitlines()

    namespace = project.namespace("dev")
    new_token = base64.b64encode(b"changed-token-value").decode()
    for args in (("patch", "configmap", "globepay-config", "-p",
                  '{"data": {"LOG_LEVEL": "changed-log-level"}}'),
                 ("patch", "secret", "api-token", "-p", f'{{"data": {{"token": "{new_token}"}}}}'),
                 ("delete", "service", "frontend")):
        changed = project.kubectl("dev", "-n", namespace, *args)
        assert changed.returncode == 0, changed.stderr
    info, text = status(project)
    assert info["overlay"] == {"overlay": "k8s/overlays/dev", "compared": 6, "in_sync": False,
                               "objects": [
        {"object": "configmap/globepay-config", "state": "differs", "fields": ["data.LOG_LEVEL"]},
        {"object": "secret/api-token", "state": "differs", "fields": ["data.token"]},
        {"object": "service/frontend", "state": "missing", "fields": []}]}
    lines = text.splitlines()
    start = lines.index("  overlay k8s/overlays/dev: 3 objects differ")
    assert lines[start + 1:start + 4] == ["    configmap/globepay-config: differs: data.LOG_LEVEL",
                                          "    secret/api-token: differs: data.token",
                                          "    service/frontend: missing"]
    for value in ("changed-log-level", "changed-token-value", new_token,
                  "original-token-value"):
        assert value not in text and value not in json.dumps(info)
