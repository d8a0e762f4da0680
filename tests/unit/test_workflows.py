"""The real-cluster workflow (.github/workflows/real-cluster.yml): when it runs and what it does.

A structural check of the YAML, not a linter: its triggers, the kind cluster and registry it
creates, the test images it pushes, and the pytest command it runs in real-cluster mode.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "real-cluster.yml"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(document: dict) -> dict:
    """The ``on:`` mapping (YAML 1.1 reads a bare ``on`` key as True)."""
    return document.get("on", document.get(True))


def steps() -> list[dict]:
    [job] = load()["jobs"].values()
    return job["steps"]


def step_using(prefix: str) -> dict:
    [step] = [s for s in steps() if s.get("uses", "").startswith(prefix)]
    return step


def run_text() -> str:
    return "\n".join(s.get("run", "") for s in steps())


def test_runs_on_demand_and_nightly_only():
    on = triggers(load())
    assert set(on) == {"workflow_dispatch", "schedule"}
    [schedule] = on["schedule"]
    fields = schedule["cron"].split()
    assert len(fields) == 5 and fields[2:] == ["*", "*", "*"], "once a day"
    assert load()["permissions"] == {"contents": "read"}


def test_creates_a_kind_cluster_with_a_registry_from_a_pinned_action():
    step = step_using("helm/kind-action@")
    assert re.fullmatch(r"helm/kind-action@v\d+\.\d+\.\d+", step["uses"]), step["uses"]
    assert step["with"]["registry"] is True
    registry = f"{step['with']['registry_name']}:{step['with']['registry_port']}"
    [job] = load()["jobs"].values()
    assert job["env"]["GLOBEPAY_TEST_REGISTRY"] == f"{registry}/globepay"
    assert job["timeout-minutes"] <= 90


def test_pushes_the_test_images_then_runs_the_integration_tests_on_the_cluster():
    names = [s.get("uses") or s.get("name") for s in steps()]
    kind = names.index(step_using("helm/kind-action@")["uses"])
    text = run_text()
    assert "apt-get install" in text and "openssh-server" in text  # the remote tests' sshd
    push = next(i for i, s in enumerate(steps()) if "scripts/test-images.sh" in s.get("run", ""))
    install = next(i for i, s in enumerate(steps()) if "'.[test]'" in s.get("run", ""))
    tests = next(i for i, s in enumerate(steps()) if "pytest" in s.get("run", ""))
    assert kind < push < tests and install < tests
    command = " ".join(steps()[tests]["run"].replace("\\\n", " ").split())
    assert "pytest tests/integration -n 2" in command
    assert re.search(r"--kubeconfig \S+ --contexts kind-globepay\b", command), command
    assert '"$GLOBEPAY_TEST_REGISTRY"' in steps()[push]["run"]


def test_the_image_script_and_its_inputs_exist():
    script = REPO / "scripts" / "test-images.sh"
    assert os.access(script, os.X_OK)
    assert "tests/integration/images.txt" in script.read_text()
    assert (REPO / "tests" / "integration" / "image" / "Dockerfile").is_file()
    listed = (REPO / "tests" / "integration" / "images.txt").read_text()
    assert re.search(r"^backend:1\.5\.0$", listed, re.M)
