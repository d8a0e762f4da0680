"""The end of a run that failed: the summary lists the environments a chain did not reach, and
one ``next:`` line says what to do (invoke -> the real kubectl -> the sandbox or a cluster)."""

from __future__ import annotations

import jsonschema
from conftest import REGISTRY, output, report
from test_failures import add_resource, error_line, pod_template

from globepay_tasks.report import load_schema


def summary(result) -> list[list[str]]:
    """The summary table's rows (ENV, RESULT, ...) split on two spaces or more."""
    lines = result.stdout.split("== summary", 1)[1].splitlines()[1:]
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines]


def test_a_chain_stopped_in_staging_lists_prod_as_not_reached_and_says_what_next(project,
                                                                                tmp_path):
    image = f"{REGISTRY}/worker:1.0-broken"
    add_resource(project, "staging", "worker.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "worker"},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 30,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": "worker"}},
                 "template": pod_template("worker", image)}})
    path = tmp_path / "report.json"
    result = project.invoke("deploy-all", "--yes", "--report", str(path))
    assert result.returncode == 2, output(result)
    assert "deployment/worker did not roll out" in error_line(result)
    rows = summary(result)
    assert [row[:2] for row in rows[1:4]] == [["dev", "succeeded"], ["staging", "rolled back"],
                                              ["prod", "skipped (not reached)"]]
    assert rows[3][2:] == ["0.0s", "-", "-"]
    nexts = [line for line in result.stdout.splitlines() if line.startswith("next:")]
    assert nexts == ["next: invoke history --env staging shows the failed run (staging was "
                     "rolled back); fix its cause, then run it again"]
    data = report(path)
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    assert [(e["env"], e["outcome"], e["exit_code"]) for e in data["environments"]] == [
        ("dev", "succeeded", 0), ("staging", "rolled back", 2),
        ("prod", "skipped (not reached)", 0)]
    assert project.deployment("prod", "backend") is None
