"""The tasks' flags: kubectl's and Helm's short flags and names, typed counts, and how
--kubeconfig, --context, --namespace and --timeout win over the configuration for one run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from invoke import Program
from invoke.parser import Parser

from globepay_tasks.config import DEFAULTS, load_settings
from globepay_tasks.errors import ConfigError
from globepay_tasks.settings import Overrides
from globepay_tasks.tasks import ns

CLUSTER_TASKS = {"deploy", "deploy-dev", "deploy-staging", "deploy-prod", "deploy-all",
                 "promote", "rollback", "diff", "validate", "status", "history", "unlock",
                 "unmark"}
ONE_ENV_TASKS = {"deploy", "deploy-dev", "deploy-staging", "deploy-prod", "rollback", "diff",
                 "status", "history", "unlock", "unmark"}
ROLLOUT_TASKS = {"deploy", "deploy-dev", "deploy-staging", "deploy-prod", "rollback"}


def flags_of(name: str) -> dict[str, tuple[str, ...]]:
    """Each flag of task ``name`` (its long name) -> all its names (on a copy of the task:
    Invoke's `get_arguments` uses its help up)."""
    task = copy.copy(ns[name])
    task.help = dict(task.help)
    return {arg.names[0]: arg.names for arg in task.get_arguments()}


def run_invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``invoke ARGV`` in this process, with the task collection: exit code, stdout, stderr."""
    try:
        Program(namespace=ns).run(["invoke", *argv])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_short_flags_are_only_env_namespace_yes_and_dry_run():
    allowed = {"env": "e", "namespace": "n", "yes": "y", "dry-run": "d"}
    for name in ns.task_names:
        for flag, names in flags_of(name).items():
            assert set(names) - {flag} <= {allowed.get(flag)}, (name, names)


def test_tasks_take_the_cluster_flags_kubectl_users_know():
    for name in ns.task_names:
        flags = set(flags_of(name))
        assert ("kubeconfig" in flags) == (name in CLUSTER_TASKS), name
        assert ({"context", "namespace"} <= flags) == (name in ONE_ENV_TASKS), name
        assert ("timeout" in flags) == (name in ROLLOUT_TASKS), name


def test_help_shows_counts_as_int_and_n_as_namespace(capsys):
    code, out, _ = run_invoke(capsys, "--help", "history")
    assert code == 0
    assert "--limit=INT" in out and "-n STRING, --namespace=STRING" in out
    assert "--to-revision=INT" in run_invoke(capsys, "--help", "rollback")[1]


@pytest.mark.parametrize("argv", [["deploy-all"], ["deploy-prod"], ["status"],
                                  ["deploy", "--env", "dev"], ["history", "-e", "dev"]])
def test_h_after_a_task_is_its_help(capsys, argv):
    code, out, _ = run_invoke(capsys, *argv, "-h")
    assert code == 0
    assert out.startswith(f"Usage: invoke [--core-opts] {argv[0]} [--options]")
    assert "--kubeconfig=STRING" in out


@pytest.mark.parametrize(("argv", "line"), [
    (["history", "--env", "dev", "--limit", "ten"], "error: --limit 'ten' must be a whole number"),
    (["rollback", "--env", "dev", "--to-revision", "1.5"],
     "error: --to-revision '1.5' must be a whole number"),
    (["sandbox.up", "--time-scale", "fast"], "error: --time-scale 'fast' must be a number"),
])
def test_a_value_that_is_not_a_number_is_one_line(capsys, argv, line):
    code, out, err = run_invoke(capsys, *argv)
    assert (code, out, err.strip()) == (1, "", line)


def test_n_is_namespace_and_counts_arrive_as_integers():
    parser = Parser(contexts=ns.to_contexts())
    deploy, history = parser.parse_argv(["deploy", "--env", "dev", "-n", "globepay-dev",
                                         "history", "-e", "dev", "--limit", "3"])
    assert deploy.args.namespace.value == "globepay-dev"
    assert not deploy.args.no_rollback.value
    assert history.args.limit.value == 3


# -- the flags over the configuration --------------------------------------------------------

def settings(**environments: dict):
    raw = {**DEFAULTS["globepay"], "environments": {**DEFAULTS["globepay"]["environments"],
                                                    **environments}}
    return load_settings(raw)


def test_env_flags_change_that_environment_for_the_run_only(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    base = settings()
    changed = base.with_overrides(
        Overrides(str(kubeconfig), "staging", "other", "globepay-x", "1m30s"), ["staging"])
    staging = changed.environment("staging")
    assert (staging.context, staging.namespace, staging.timeout) == ("other", "globepay-x", 90)
    assert staging.override_namespace and not base.environment("staging").override_namespace
    assert changed.kubeconfig == str(kubeconfig) and base.kubeconfig is None
    assert changed.environment("dev") == base.environment("dev")
    assert changed.target(staging).base()[:7] == [
        "kubectl", "--kubeconfig", str(kubeconfig), "--context", "other",
        "--namespace", "globepay-x"]


@pytest.mark.parametrize(("written", "seconds"), [
    (300, 300), ("300", 300), ("90s", 90), ("5m", 300), ("5m0s", 300), ("1h30m", 5400),
    ("1.5m", 90)])
def test_seconds_are_also_written_as_kubectl_and_helm_durations(written, seconds):
    assert settings(dev={"timeout": written}).environment("dev").timeout == seconds


def test_no_flag_leaves_the_settings_as_configured():
    base = settings()
    assert base.with_overrides(Overrides(env="dev"), ["dev"]) == base


@pytest.mark.parametrize(("flags", "message"), [
    (Overrides(namespace="x"), "--namespace sets one environment's: give --env too"),
    (Overrides(env="dev", namespace="Not_A_Name"), "--namespace 'Not_A_Name' is not a valid"),
    (Overrides(env="dev", timeout="soon"),
     "--timeout must be a number of seconds or a duration (90s, 5m), not 'soon'"),
    (Overrides(env="dev", timeout="0s"), "--timeout must be greater than 0"),
    (Overrides(env="dev", context=""), "--context must name a kube context"),
    (Overrides(env="qa", context="x"), "unknown environment 'qa'"),
    (Overrides(kubeconfig="no/such/kubeconfig"), "--kubeconfig 'no/such/kubeconfig': no such file"),
])
def test_bad_flag_values_are_one_line_naming_the_flag(flags, message):
    with pytest.raises(ConfigError) as caught:
        settings().with_overrides(flags, ["dev"])
    assert caught.value.message.startswith(message)


def test_context_of_a_multi_cluster_environment_is_refused():
    multi = settings(prod={"targets": [{"context": "eu"}, {"context": "us"}]})
    with pytest.raises(ConfigError, match=r"--context: prod has several clusters \(targets\)"):
        multi.with_overrides(Overrides(env="prod", context="eu"), ["prod"])


def test_kubeconfig_of_an_environment_on_a_host_is_a_path_there(tmp_path):
    remote = settings(dev={"host": "deploy@bastion:22"})
    path = str(tmp_path / "on-the-host")
    assert not Path(path).exists()
    assert remote.with_overrides(Overrides(path), ["dev"]).kubeconfig == path
    with pytest.raises(ConfigError, match="no such file"):  # staging runs here
        remote.with_overrides(Overrides(path), ["dev", "staging"])
