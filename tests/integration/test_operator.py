"""What an operator and CI see: progress lines, colour, the JSON report, the GitHub job summary,
and help for every task (invoke -> real kubectl -> the sandbox or a real cluster)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import jsonschema
import yaml
from conftest import INVOKE, REGISTRY, REPO, on_terminal, output, report
from invoke import Collection

from globepay_tasks import config, config_hooks
from globepay_tasks.report import load_schema
from globepay_tasks.tasks import ns

BACKEND = f"{REGISTRY}/backend"
LINE = re.compile(r"^(== |\[ *\d+\.\ds\] \S+ +[^:|]+(: | \| ))")
ESCAPE = "\x1b["


def validate(data: dict) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(data)


def run(project, *args: str, environ: dict[str, str | None] | None = None
        ) -> subprocess.CompletedProcess:
    """``project.invoke`` with changes to its environment (None removes a variable)."""
    project.write_config()
    env = project.environ()
    for key, value in (environ or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [INVOKE, "-f", str(project.config_file), *args], cwd=project.root, env=env,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def run_on_terminal(project, *args: str, no_color: bool) -> tuple[int, str]:
    """Run invoke with stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    env = project.environ()
    env.pop("NO_COLOR")
    env["TERM"] = "xterm"
    if no_color:
        env["NO_COLOR"] = "1"
    return on_terminal(project, *args, env=env)


def kubeconfig_token(project) -> str:
    """A credential of the kubeconfig: the sandbox's token, a real cluster's token or key."""
    document = yaml.safe_load(Path(project.kubeconfig).read_text())
    user = document["users"][0]["user"]
    token = next(user[key] for key in ("token", "client-key-data", "password") if key in user)
    assert len(token) >= 16
    return token


def progress_lines(text: str) -> list[str]:
    return text.split("== summary")[0].splitlines()


def test_success_report_matches_schema_and_hides_secrets(project, tmp_path):
    token = kubeconfig_token(project)
    project.env_settings("dev")["post_promotion"] = [
        f"echo used {token}; echo curl -H 'Authorization: Bearer abc.def.ghi' "
        "--password hunter2hunter2"]
    path, summary = tmp_path / "out" / "report.json", tmp_path / "summary.md"

    result = run(project, "deploy-dev", "--report", str(path),
                 environ={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"})

    assert result.returncode == 0, output(result)
    data = report(path)
    validate(data)
    assert (data["task"], data["outcome"], data["exit_code"]) == ("deploy-dev", "succeeded", 0)
    [dev] = data["environments"]
    assert dev["outcome"] == "succeeded" and dev["namespace"] == project.namespace("dev")
    assert [p["action"] for p in dev["plan"]] == ["create", "create"]
    assert dev["revisions"]["deployment/backend"] == {"before": "", "after": "1"}
    steps = [s["step"] for s in data["steps"]]
    for name in ("preflight", "plan", "apply", "wait", "ready", "post hook", "done"):
        assert name in steps
    assert [s["at"] for s in data["steps"]] == sorted(s["at"] for s in data["steps"])
    applies = [c for c in data["commands"]
               if " apply -f " in c["command"] and "--dry-run=server" not in c["command"]]
    assert len(applies) == 2 and all(c["exit_code"] == 0 and c["seconds"] > 0 for c in applies)
    assert "--output json" in applies[0]["command"]  # the manifest; then record and lock
    assert dev["hooks"][0]["output_tail"].startswith("used ***")
    everything = path.read_text() + output(result) + summary.read_text()
    for secret in (token, "abc.def.ghi", "hunter2hunter2"):
        assert secret not in everything
    assert summary.read_text().startswith("### globepay deploy-dev: succeeded (exit 0)")
    assert "::error" not in result.stdout
    for line in progress_lines(result.stdout):
        assert LINE.match(line), line


def test_hook_failure_report_summary_annotation_and_plain_output(project, tmp_path):
    assert run(project, "deploy-dev").returncode == 0
    project.env_settings("dev")["post_promotion"] = [
        "echo smoke 50% done; echo 'login: FAILED'; exit 4"]
    path, summary = tmp_path / "report.json", tmp_path / "summary.md"

    result = run(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0",
                 "--report", str(path),
                 environ={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true",
                          "NO_COLOR": None})

    assert result.returncode == 3, output(result)
    text = output(result)
    assert ESCAPE not in text, "not a terminal: no colour even without NO_COLOR"
    header = (f"== dev: context {project.context('dev')}, namespace {project.namespace('dev')}, "
              "6 objects (1 Namespace, 1 ConfigMap, 2 Service, 2 Deployment): "
              "1 to change, 0 to create, 5 unchanged")
    assert re.search(rf"^{re.escape(header)}$", result.stdout, re.M)
    assert "plan: deployment/backend: change, backend 1.5.0 -> 1.7.0" in text
    assert "plan: deployment/frontend: unchanged" in text
    assert re.search(r"wait: backend (1/1 ready|rolled out)", text)
    data = report(path)
    validate(data)
    assert (data["outcome"], data["exit_code"]) == ("failed", 3)
    [dev] = data["environments"]
    assert dev["outcome"] == "rolled back" and dev["exit_code"] == 3
    assert dev["rolled_back"] == ["deployment/backend"]
    assert dev["changed"] == ["deployment/backend"]
    assert dev["images"]["deployment/backend"] == {"backend": f"{BACKEND}:1.5.0"}
    [hook] = [h for h in dev["hooks"] if h["phase"] == "post"]
    assert not hook["ok"] and hook["message"] == "exited 4"
    assert hook["output_tail"] == "smoke 50% done\nlogin: FAILED"
    assert any(c["command"].startswith("echo smoke") and c["exit_code"] == 4
               for c in data["commands"])

    summary_text = summary.read_text()
    assert summary_text.startswith("### globepay deploy-dev: failed (exit 3)\n")
    assert re.search(r"^\| dev \| rolled back \| [\d.]+s \| backend:1\.5\.0, frontend:1\.5\.0 \| "
                     r"backend 1->3, frontend 1 \|$", summary_text, re.M)
    assert "- dev rolled back: deployment/backend" in summary_text
    assert "login: FAILED" in summary_text
    [annotation] = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith("::error title=globepay deploy-dev failed (exit 3)::dev: ")
    assert "smoke 50%25 done" in annotation and "exited 4" in annotation
    assert "dev reason: post-promotion hook" in result.stdout
    assert "dev rolled back: deployment/backend" in result.stdout


def test_rollback_report(project, tmp_path):
    for tag in ("1.5.1", "1.5.2"):
        assert run(project, "deploy-dev", "--image", f"backend={BACKEND}:{tag}").returncode == 0
    path = tmp_path / "rollback.json"

    result = run(project, "rollback", "--env", "dev", "--only", "backend", "--report", str(path))

    assert result.returncode == 0, output(result)
    data = report(path)
    validate(data)
    assert (data["task"], data["outcome"]) == ("rollback", "succeeded")
    [dev] = data["environments"]
    assert (dev["action"], dev["outcome"]) == ("rollback", "rolled back")
    assert dev["rolled_back"] == ["deployment/backend"]
    assert dev["revisions"]["deployment/backend"] == {"before": "2", "after": "3"}
    assert dev["images"]["deployment/backend"] == {"backend": f"{BACKEND}:1.5.1"}
    assert any(" rollout undo deployment/backend" in c["command"] for c in data["commands"])
    assert re.search(r"^dev +rolled back +[\d.]+s +backend:1\.5\.1 +backend 2->3$",
                     result.stdout, re.M)


def test_colour_on_a_terminal_unless_no_color(project):
    code, shown = run_on_terminal(project, "deploy-dev", no_color=False)
    assert code == 0, shown
    assert "\x1b[1m== dev" in shown and "\x1b[32m" in shown
    code, shown = run_on_terminal(project, "deploy-dev", no_color=True)
    assert code == 0, shown
    assert ESCAPE not in shown and "== dev" in shown and "done: succeeded" in shown


def test_unwritable_report_path_stops_before_anything(project, tmp_path):
    with project.untouched():
        result = run(project, "deploy-dev", "--report", str(tmp_path))
    assert result.returncode == 1
    assert f"--report {tmp_path}: is a directory" in result.stderr


def _tasks(collection: Collection, prefix: str = ""):
    for name, task in collection.tasks.items():
        yield prefix + name, task
    for name, sub in collection.collections.items():
        yield from _tasks(sub, f"{prefix}{name}.")


def test_every_task_and_flag_has_help():
    listed = subprocess.run([INVOKE, "--list"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=True).stdout
    arguments = {}
    for name, task in _tasks(ns):
        assert (task.__doc__ or "").strip(), f"{name} has no docstring"
        assert re.search(rf"^  {re.escape(name)} +\S", listed, re.M), f"{name}: no description"
        arguments[name] = task.get_arguments()  # (consumes the task's help mapping: once only)
        for argument in arguments[name]:
            assert argument.help, f"{name} --{argument.names[0]} has no help"
    assert {"deploy", "deploy-all", "rollback", "sandbox.up"} <= set(arguments)
    for name in ("deploy", "rollback", "status", "sandbox.up"):
        shown = subprocess.run([INVOKE, "--help", name], cwd=REPO, capture_output=True,
                               text=True, timeout=60, check=True).stdout
        for argument in arguments[name]:
            assert f"--{argument.names[0]}" in shown and argument.help.split()[0] in shown


def test_docs_cover_the_commands_every_key_and_every_report_field():
    readme = (REPO / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
    configuration = (REPO / "docs" / "configuration.md").read_text()
    keys = (config.TOP_KEYS | config.ENV_KEYS | config.SMOKE_KEYS
            | set().union(*config_hooks.HOOK_KEYS.values()))
    for key in keys:
        assert re.search(rf"`([\w<>.\[\]]*\.)?{key}(\[\])?`|\b{key}: ", configuration), key
    for key in config.TOP_KEYS | config.ENV_KEYS:
        assert re.search(rf"`([\w<>.]*\.)?{key}(\[\])?`", readme), f"README lacks {key}"
    documented = (REPO / "docs" / "report.md").read_text()
    schema = load_schema()
    fields = set(schema["properties"]) | set(schema["$defs"]["environment"]["properties"])
    for name in ("step", "command"):
        fields |= set(schema["$defs"][name]["properties"])
    for field in fields:
        assert f"`{field}`" in documented, f"docs/report.md lacks {field}"
