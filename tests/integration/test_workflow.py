"""The promotion workflow's jobs (.github/workflows/promote.yml) run as a GitHub runner runs
them: each job's shell steps in order, with the secret of its own environment only, against
the sandbox. Which jobs start for a target is tests/unit/test_workflows.py."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "promote.yml"


def secret(project, *envs: str) -> str:
    """A ``KUBECONFIG_<ENV>_B64`` value: the kubeconfig with the contexts of ``envs`` only
    (the first current), and their clusters and users."""
    document = project.kubeconfig_document()
    contexts = [c for e in envs for c in document["contexts"] if c["name"] == project.context(e)]

    def used(section: str, key: str) -> list[dict]:
        return [item for item in document[section]
                if item["name"] in {c["context"][key] for c in contexts}]

    document.update(contexts=contexts, clusters=used("clusters", "cluster"),
                    users=used("users", "user"), **{"current-context": contexts[0]["name"]})
    return base64.b64encode(yaml.safe_dump(document).encode()).decode()


def run_job(project, name: str, secrets: dict[str, str], runner: Path) -> list[tuple[str, int]]:
    """Job ``name``'s ``run:`` steps but the pip installs, as the runner runs them (bash -eo
    pipefail, the step's ``env:`` with ``secrets`` put in, ``$GITHUB_ENV`` read back after each
    step; after a failure only ``if: always()`` steps); each step's name (or its artifact's
    name, which must exist when its upload step comes) and exit code, the output in
    ``runner/<job>.log``."""
    shutil.copytree(REPO / "scripts", project.root / "scripts", dirs_exist_ok=True)
    project.settings.pop("kubeconfig", None)  # from $KUBECONFIG, as the job sets it
    project.write_config()
    temp = runner / name
    temp.mkdir(parents=True)
    github_env = runner / f"{name}.env"
    github_env.touch()
    env = {**project.environ(), "RUNNER_TEMP": str(temp), "GITHUB_ENV": str(github_env),
           "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
           "INVOKE_RUNTIME_CONFIG": str(project.config_file)}
    env.pop("KUBECONFIG", None)
    done: list[tuple[str, int]] = []
    failed = False
    with (runner / f"{name}.log").open("a") as log:
        for step in yaml.safe_load(WORKFLOW.read_text())["jobs"][name]["steps"]:
            if failed and step.get("if") != "always()":
                continue
            if "upload-artifact" in step.get("uses", ""):
                path = project.root / step["with"]["path"]
                done.append((step["with"]["name"], 0 if path.is_file() else 1))
            if "run" not in step or step["run"].startswith("python -m pip install"):
                continue
            values = {key: re.sub(r"\$\{\{ secrets\.(\w+) \}\}",
                                  lambda m: secrets.get(m.group(1), ""), value)
                      for key, value in (step.get("env") or {}).items()}
            exported = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                     step["run"]], cwd=project.root,
                                    env={**env, **exported, **values}, stdout=log,
                                    stderr=subprocess.STDOUT, timeout=180)
            done.append((step["name"], result.returncode))
            failed = failed or result.returncode != 0
    return done


def log(runner: Path, name: str) -> str:
    return (runner / f"{name}.log").read_text()


def test_the_chain_runs_job_by_job_each_with_its_own_kubeconfig(project, tmp_path):
    runner = tmp_path / "runner"
    secrets = {"KUBECONFIG_DEV_B64": secret(project, "dev"),
               "KUBECONFIG_STAGING_B64": secret(project, "staging", "dev"),
               "KUBECONFIG_PROD_B64": secret(project, "prod", "staging")}
    for name in ("check", "dev", "staging", "prod"):
        steps = run_job(project, name, secrets, runner)
        assert all(code == 0 for _, code in steps), (steps, log(runner, name))
        if name != "check":
            assert (f"promotion-report-{name}", 0) in steps
            assert not (runner / name / "kube").exists(), "the kubeconfig is removed"
    summary = (runner / "summary.md").read_text()
    for env in ("dev", "staging", "prod"):
        assert f"globepay deploy-{env}: succeeded (exit 0)" in summary, summary
        assert project.deployment(env, "backend") is not None
    assert "--yes" in log(runner, "prod") and "--yes" not in log(runner, "staging")


def test_a_job_without_its_secret_stops_before_anything(project, tmp_path):
    runner = tmp_path / "runner"
    with project.untouched(reads=True):
        steps = run_job(project, "dev", {}, runner)
    assert steps == [("Write dev's kubeconfig", 1), ("promotion-report-dev", 1),
                     ("Remove the kubeconfig", 0)]
    assert ("::error::the secret KUBECONFIG_DEV_B64 of the GitHub environment dev is not set"
            in log(runner, "dev"))


def test_staging_without_read_access_to_dev_stops_before_staging_is_changed(project, tmp_path):
    runner = tmp_path / "runner"
    assert run_job(project, "dev", {"KUBECONFIG_DEV_B64": secret(project, "dev")}, runner)
    with project.untouched("staging"):
        steps = run_job(project, "staging",
                        {"KUBECONFIG_STAGING_B64": secret(project, "staging")}, runner)
    assert steps == [("Write staging's kubeconfig", 0), ("Promote staging", 1),
                     ("promotion-report-staging", 0), ("Remove the kubeconfig", 0)]
    assert ("staging receives the images dev runs (promote_images), which cannot be read: "
            "reading globepay-dev failed: context \"globepay-dev\" does not exist; nothing was "
            "changed") in log(runner, "staging")
