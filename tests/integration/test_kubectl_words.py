"""kubectl's own words on failure: a refused apply names each object and kind it refused; a
workload that does not roll out names the pod-level reason the API reports."""

from __future__ import annotations

import json
import re

import pytest
from conftest import output
from test_failures import BACKEND, BROKEN, add_resource, error_line, seeded, wait_for

WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "gizmo"}}


def test_unknown_kind_refused_by_the_preflight(project):
    seeded(project)
    add_resource(project, "dev", "widget.yaml", WIDGET)
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 1, output(result)
    line = error_line(result)
    assert 'widget/gizmo' in line and 'no matches for kind "Widget"' in line, line


@pytest.mark.sandbox_only("refuses the apply's create but not its dry run (sandbox faults)")
def test_apply_failure_names_every_refusal(project):
    seeded(project)
    add_resource(project, "dev", "extra.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra"},
        "data": {"a": "b"}})
    project.sandbox.add_fault(method="PATCH", path="/namespaces/globepay-dev/configmaps/extra$",
                              cluster="dev", status=422, dry_run=False,
                              message='ConfigMap "extra" is invalid: data.a: Forbidden: '
                                      'refused by a webhook')
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert ('apply failed: ConfigMap "extra" is invalid: data.a: Forbidden: refused by a '
            'webhook; rolled back deployment/backend') in line, line


def test_a_broken_image_is_named_by_its_pods_reason(project):
    seeded(project)
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert 'deployment "backend" exceeded its progress deadline' in line, line
    # a kubelet may still say ErrImagePull (its own message) before it backs off
    assert re.search(r'; pod backend-[a-z0-9]+-[a-z0-9]+: (ImagePullBackOff: Back-off pulling '
                     rf'image "{re.escape(BROKEN)}"|ErrImagePull)', line), line
    assert "rolled back deployment/backend" in line


def test_kubectl_shows_the_waiting_reason_of_a_broken_pod(project):
    seeded(project)
    assert project.kubectl("dev", "set", "image", "deployment/backend",
                           f"backend={BROKEN}", "-n", project.namespace("dev")).returncode == 0
    namespace = project.namespace("dev")

    def waiting() -> list[dict]:
        listed = project.kubectl("dev", "get", "pods", "-n", namespace, "-o", "json")
        assert listed.returncode == 0, listed.stderr
        return [c["state"]["waiting"] for pod in json.loads(listed.stdout)["items"]
                for c in pod["status"].get("containerStatuses") or ()
                if c["image"] == BROKEN and "waiting" in c["state"]]

    wait_for(lambda: any(w["reason"] == "ImagePullBackOff" for w in waiting()))
    assert {"reason": "ImagePullBackOff",
            "message": f'Back-off pulling image "{BROKEN}"'} in waiting()
