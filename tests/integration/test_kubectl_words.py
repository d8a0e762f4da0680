"""kubectl's own words on failure: a refused apply names each object and kind it refused; a
workload that does not roll out names the pod-level reason the API reports."""

from __future__ import annotations

import pytest
from conftest import output
from test_failures import BACKEND, add_resource, error_line, seeded

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
    project.sandbox.add_fault(method="POST", path="/namespaces/globepay-dev/configmaps$",
                              cluster="dev", status=422, dry_run=False,
                              message='ConfigMap "extra" is invalid: data.a: Forbidden: '
                                      'refused by a webhook')
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert ('apply failed: ConfigMap "extra" is invalid: data.a: Forbidden: refused by a '
            'webhook; rolled back deployment/backend') in line, line
