"""The task layer without Invoke's parser: tasks called with an `invoke.MockContext`, the
confirmation, the one error-to-`Exit` path and the promotion session around a task's body."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from invoke import Config, MockContext, Result
from invoke.exceptions import Exit

from globepay_tasks import tasks
from globepay_tasks.config import DEFAULTS, Environment, load_settings
from globepay_tasks.confirm import Confirmation, confirm_changes, question
from globepay_tasks.errors import (
    ConfigError,
    EnvironmentLocked,
    ExitStatus,
    HookFailed,
    RollbackFailed,
    RolloutFailed,
)
from globepay_tasks.report import build_report
from globepay_tasks.session import RunFailed, run_promotion
from globepay_tasks.tasks import exits_on_error

ROOT = Path(__file__).resolve().parents[2]
NOT_CONFIRMED = "prod: not confirmed, nothing was changed"
NO_TERMINAL = "prod requires confirmation: pass --yes (no terminal to ask on)"


class Terminal(io.StringIO):
    """Standard input with answers typed in advance; ``tty``: whether it is a terminal."""

    def __init__(self, answers: str = "", *, tty: bool = True) -> None:
        super().__init__(answers)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def task_context(**run: Result) -> MockContext:
    """A context configured as Invoke configures the tasks' (``globepay`` defaults); its
    ``run`` answers the commands matching each regular expression given, and nothing else."""
    config = Config()
    config.load_collection(tasks.ns.configuration())
    return MockContext(config=config, run={re.compile(pattern): result
                                           for pattern, result in run.items()})


def environments(*names: str) -> list[Environment]:
    settings = load_settings(DEFAULTS["globepay"])
    return [settings.environment(name) for name in names]


def answers(*replies: str) -> tuple[list[str], Callable[[str], str]]:
    """The questions asked, and a prompt answering ``replies`` in turn."""
    asked: list[str] = []
    pending = list(replies)

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return pending.pop(0)

    return asked, ask


def never(*args: object) -> object:
    raise AssertionError("must not be called")


# -- confirmation ------------------------------------------------------------------------------


def test_answer_n_refuses_and_says_nothing_was_changed():
    asked, ask = answers("n")
    with pytest.raises(ConfigError) as raised:
        confirm_changes(environments("prod"), yes=False, dry_run=False, ask=ask,
                        has_terminal=lambda: True)
    assert raised.value.message == NOT_CONFIRMED
    assert raised.value.exit_code == ExitStatus.ERROR == 1
    assert asked == ["Change prod (namespace globepay-prod, context current)? [y/N] "]


def test_a_confirmation_checks_for_a_terminal_at_once_and_asks_each_env_at_its_turn():
    asked, ask = answers("y")
    confirmation = Confirmation(environments("dev", "staging", "prod"), yes=False,
                                dry_run=False, ask=ask, has_terminal=lambda: True)
    confirmation.check()
    assert asked == []
    for env in environments("dev", "staging", "prod", "prod"):
        confirmation.ask_for(env)  # prod is asked once
    assert asked == ["Change prod (namespace globepay-prod, context current)? [y/N] "]
    refused = Confirmation(environments("prod"), yes=False, dry_run=False, ask=never,
                           has_terminal=lambda: False)
    with pytest.raises(ConfigError, match="prod requires confirmation: pass --yes"):
        refused.check()
    Confirmation(environments("prod"), yes=True, dry_run=False, ask=never,
                 has_terminal=lambda: False).check()


def test_without_a_terminal_the_run_asks_for_yes_and_asks_nothing():
    with pytest.raises(ConfigError) as raised:
        confirm_changes(environments("prod"), yes=False, dry_run=False, ask=never,
                        has_terminal=lambda: False)
    assert raised.value.message == NO_TERMINAL
    assert raised.value.exit_code == ExitStatus.ERROR


@pytest.mark.parametrize("reply", ["y", "Y", " yes\n", "YES"])
def test_answer_y_proceeds_and_only_confirm_environments_are_asked(reply):
    asked, ask = answers(reply)
    assert confirm_changes(environments("dev", "staging", "prod"), yes=False, dry_run=False,
                           ask=ask, has_terminal=lambda: True) is None
    assert asked == [question(environments("prod")[0])]


@pytest.mark.parametrize("reply", ["", "no", "yy", "ja"])
def test_anything_but_y_or_yes_refuses(reply):
    _, ask = answers(reply)
    with pytest.raises(ConfigError, match="not confirmed"):
        confirm_changes(environments("prod"), yes=False, dry_run=False, ask=ask,
                        has_terminal=lambda: True)


@pytest.mark.parametrize("yes, dry_run", [(True, False), (False, True)])
def test_yes_and_dry_run_ask_nothing(yes, dry_run):
    confirm_changes(environments("prod"), yes=yes, dry_run=dry_run, ask=never,
                    has_terminal=never)


def test_each_environment_is_asked_in_turn_and_the_first_refusal_is_named():
    staging, prod = environments("staging", "prod")
    asked, ask = answers("y", "n")
    with pytest.raises(ConfigError) as raised:
        confirm_changes([dataclasses.replace(staging, confirm=True), prod], yes=False,
                        dry_run=False, ask=ask, has_terminal=lambda: True)
    assert [prompt.split(" (")[0] for prompt in asked] == ["Change staging", "Change prod"]
    assert raised.value.message == NOT_CONFIRMED


def test_a_multi_cluster_environment_names_each_context():
    raw = copy.deepcopy(DEFAULTS["globepay"])
    raw["environments"]["prod"]["targets"] = [{"name": "eu", "context": "prod-eu"},
                                              {"name": "us", "context": "prod-us"}]
    prod = load_settings(raw).environment("prod")
    assert question(prod) == ("Change prod (namespace globepay-prod, context prod-eu, prod-us)?"
                              " [y/N] ")


# -- confirmation through a task (stdin as the default prompt reads it) ---------------------------


def test_task_answered_n_exits_1_and_runs_no_command(monkeypatch, capsys):
    """A rollback of one workload asks before it reads anything (a whole release's rollback
    asks after its plan: tests/integration/test_releases.py)."""
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    c = task_context()
    with pytest.raises(Exit) as raised:
        tasks.rollback(c, env="prod", only="backend")
    assert raised.value.code == ExitStatus.ERROR == 1
    assert raised.value.message == f"error: {NOT_CONFIRMED}"
    assert question(environments("prod")[0]) in capsys.readouterr().out
    assert c.run.call_count == 0


def test_task_without_a_terminal_asks_for_yes(monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal(tty=False))
    c = task_context()
    with pytest.raises(Exit) as raised:
        tasks.rollback(c, env="prod")
    assert (raised.value.code, raised.value.message) == (1, f"error: {NO_TERMINAL}")
    assert c.run.call_count == 0


def test_task_answered_y_goes_on_to_the_cluster(monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    c = task_context(**{".*": Result(exited=1, stderr="Error from server (Forbidden): no")})
    with pytest.raises(Exit) as raised:
        tasks.rollback(c, env="prod")
    assert "not confirmed" not in raised.value.message
    commands = [call.args[0] for call in c.run.call_args_list]
    assert any("--namespace globepay-prod" in command for command in commands), commands


def test_task_with_yes_asks_nothing(monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal(tty=False))
    c = task_context(**{".*": Result(exited=1, stderr="Error from server (Forbidden): no")})
    with pytest.raises(Exit) as raised:
        tasks.rollback(c, env="prod", yes=True)
    assert "requires confirmation" not in raised.value.message
    assert c.run.call_count > 0


# -- the error-to-Exit path ------------------------------------------------------------------


UNKNOWN_ENV_CALLS = {
    "deploy": lambda c: tasks.deploy(c, env="qa"),
    "promote": lambda c: tasks.promote(c, from_="dev", to="qa"),
    "rollback": lambda c: tasks.rollback(c, env="qa"),
    "diff": lambda c: tasks.diff(c, env="qa"),
    "unlock": lambda c: tasks.unlock(c, env="qa"),
    "status": lambda c: tasks.status(c, env="qa"),
    "history": lambda c: tasks.history(c, env="qa"),
}


@pytest.mark.parametrize("name", list(UNKNOWN_ENV_CALLS))
def test_an_unknown_environment_exits_1_with_one_error_line(name):
    c = task_context()
    with pytest.raises(Exit) as raised:
        UNKNOWN_ENV_CALLS[name](c)
    assert raised.value.code == ExitStatus.ERROR == 1
    assert raised.value.message == ("error: unknown environment 'qa' (configured: dev, prod, "
                                    "staging)")
    assert c.run.call_count == 0


def test_a_bad_host_exits_1_before_anything_runs():
    c = task_context()
    with pytest.raises(Exit) as raised:
        tasks.status(c, host="deploy@:99999")
    assert raised.value.code == 1
    assert raised.value.message.startswith("error: --host")
    assert "\n" not in raised.value.message
    assert c.run.call_count == 0


def test_a_report_path_that_is_a_directory_exits_1_before_anything_runs(tmp_path, capsys):
    c = task_context()
    with pytest.raises(Exit) as raised:
        tasks.deploy(c, env="dev", report=str(tmp_path))
    assert raised.value.code == 1
    assert raised.value.message == f"error: --report {tmp_path}: is a directory; give a file name"
    assert capsys.readouterr().out == ""
    assert c.run.call_count == 0


@pytest.mark.parametrize("error", [ConfigError("bad"), RolloutFailed("bad"), HookFailed("bad"),
                                   RollbackFailed("bad"), EnvironmentLocked("bad"),
                                   RunFailed("bad", ExitStatus.INTERRUPTED)])
def test_exits_on_error_exits_with_the_errors_status_and_one_line(error):
    with pytest.raises(Exit) as raised, exits_on_error():
        raise error
    assert raised.value.code == error.exit_code
    assert isinstance(raised.value.code, ExitStatus)
    assert raised.value.message == "error: bad"


def test_exits_on_error_leaves_other_exceptions_and_success_alone():
    with pytest.raises(ValueError, match="a bug"), exits_on_error():
        raise ValueError("a bug")
    with exits_on_error():
        pass


# -- the session around a task's body --------------------------------------------------------


@pytest.mark.parametrize("error, status, message", [
    (ConfigError("dev: overlay does not build"), ExitStatus.ERROR, "dev: overlay does not build"),
    (RolloutFailed("dev: backend did not roll out"), ExitStatus.ROLLOUT_FAILED,
     "dev: backend did not roll out"),
    (HookFailed("dev: post hook failed"), ExitStatus.HOOK_FAILED, "dev: post hook failed"),
    (RollbackFailed("dev: ROLLBACK FAILED"), ExitStatus.ROLLBACK_FAILED, "dev: ROLLBACK FAILED"),
    (EnvironmentLocked("dev: locked by ci"), ExitStatus.LOCKED, "dev: locked by ci"),
    (KeyboardInterrupt(), ExitStatus.INTERRUPTED, "interrupted"),
])
def test_a_failed_session_reports_its_exit_status_and_meaning(tmp_path, error, status, message):
    def body(promoter):
        raise error

    path = tmp_path / "out" / "report.json"
    with pytest.raises(RunFailed) as raised:
        run_promotion(task_context(), "deploy", body, report=str(path))
    assert (raised.value.exit_code, raised.value.message) == (status, message)
    report = json.loads(path.read_text())
    assert report["exit_code"] == int(status)
    assert report["exit_meaning"] == status.meaning
    assert report["message"] == message
    assert report["outcome"] == ("interrupted" if status == ExitStatus.INTERRUPTED else "failed")


def test_a_session_hands_the_body_its_promoter_and_returns_the_report():
    seen = []
    data = run_promotion(task_context(), "validate", seen.append, dry_run=True)
    assert [promoter.settings.order for promoter in seen] == [("dev", "staging", "prod")]
    assert seen[0].runner.dry_run is True
    assert (data["exit_code"], data["exit_meaning"], data["outcome"]) == (
        ExitStatus.SUCCESS, "success", "dry run")


def test_a_failed_session_says_so_in_a_github_job_summary(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    def body(promoter):
        raise EnvironmentLocked("staging: locked by ci")

    with pytest.raises(RunFailed):
        run_promotion(task_context(), "deploy-staging", body)
    assert summary.read_text().startswith("### globepay deploy-staging: failed (exit 5)")


@pytest.mark.parametrize("status", list(ExitStatus))
def test_the_reports_exit_meaning_is_the_exit_status_meaning(status):
    from globepay_tasks.progress import Progress

    report = build_report("deploy", ["invoke"], Progress(io.StringIO(), color=False), [],
                          status, "")
    assert report["exit_code"] == status
    assert report["exit_meaning"] == status.meaning == ExitStatus.describe(int(status))


def test_an_exit_code_no_task_produces_is_unknown():
    from globepay_tasks.progress import Progress

    report = build_report("deploy", [], Progress(io.StringIO(), color=False), [], 7, "")
    assert report["exit_meaning"] == "unknown"


def test_importing_the_tasks_loads_only_the_defaults():
    code = ("import sys, globepay_tasks.tasks; "
            "print(*sorted(m for m in sys.modules if m.startswith('globepay_tasks')))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.split())
    assert "globepay_tasks.tasks" in loaded
    assert loaded <= {"globepay_tasks", "globepay_tasks.tasks", "globepay_tasks.defaults",
                      "globepay_tasks.errors", "globepay_tasks.excepthook",
                      "globepay_tasks.flags"}
