"""The run report and what is made from it: schema, redaction, summary table, GitHub output,
readiness lines, colour decisions and the change plan."""

from __future__ import annotations

import io
import json

import jsonschema
import pytest
import yaml

from globepay_tasks import github, kinds
from globepay_tasks.errors import ConfigError
from globepay_tasks.hooks import HookResult
from globepay_tasks.kubectl import WorkloadRef
from globepay_tasks.manifests import Rendered
from globepay_tasks.progress import Progress, Readiness, use_color
from globepay_tasks.promotion import EnvResult, WorkloadChange
from globepay_tasks.promotion.plan import predict, summarize
from globepay_tasks.redact import MASK, Redactor
from globepay_tasks.report import (
    build_report,
    check_report_path,
    load_schema,
    next_line,
    summary_lines,
    write_report,
)
from globepay_tasks.workload_state import WorkloadState, template_key

BACKEND = WorkloadRef("Deployment", "backend")
FRONTEND = WorkloadRef("Deployment", "frontend")
IMAGE = "registry.globepay.dev/globepay/backend:"


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(report)


def state(ref: WorkloadRef, tag: str, revision: str, template: str = "") -> WorkloadState:
    return WorkloadState(ref, True, template or tag, revision, {ref.name: IMAGE + tag})


def progress() -> Progress:
    return Progress(io.StringIO(), color=False)


def succeeded() -> EnvResult:
    result = EnvResult("dev", "deploy", "globepay-dev", "globepay-dev", outcome="succeeded",
                       seconds=2.5)
    result.changes = [WorkloadChange(BACKEND, state(BACKEND, "1.4.1", "1"),
                                     state(BACKEND, "1.5.0", "2")),
                      WorkloadChange(FRONTEND, state(FRONTEND, "1.4.1", "1"),
                                     state(FRONTEND, "1.4.1", "1"))]
    result.revisions = {"deployment/backend": ("1", "2"), "deployment/frontend": ("1", "1")}
    result.images = {"deployment/backend": {"backend": IMAGE + "1.5.0"},
                     "deployment/frontend": {"frontend": IMAGE.replace("backend", "frontend")
                                             + "1.4.1"}}
    result.hooks = [HookResult("globepay_tasks.checks:healthy", "post", True, "ok", 0.2)]
    return result


def hook_failed() -> EnvResult:
    result = succeeded()
    result.outcome, result.exit_code = "rolled back", 3
    result.reason = ("dev: post-promotion hook 'pytest tests/smoke' failed: exited 1; "
                     "rolled back deployment/backend")
    result.rolled_back = ["deployment/backend"]
    result.hooks = [HookResult("pytest tests/smoke", "post", False, "exited 1", 1.5,
                               "collected 3 items\nFAILED test_login | 50%\nexit")]
    return result


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert load_schema()["properties"]["schema_version"] == {"const": 1}


@pytest.mark.parametrize("results, code, message", [
    ([succeeded()], 0, ""),
    ([hook_failed(), EnvResult("staging", "deploy")], 3, "dev: post-promotion hook failed"),
    ([EnvResult("prod", "rollback", "globepay-prod", outcome="rolled back",
                rolled_back=["deployment/backend"],
                revisions={"deployment/backend": ("4", "5")})], 0, ""),
], ids=["success", "hook-failure", "rollback"])
def test_reports_match_the_schema(results, code, message):
    run = progress()
    run.step("dev", "apply", "kubectl apply -k k8s/overlays/dev")
    run.command("kubectl apply -k k8s/overlays/dev", run.started, 0)
    report = build_report("deploy", ["invoke", "deploy"], run, results, code, message)
    validate(report)
    assert report["exit_code"] == code
    assert report["outcome"] == ("succeeded" if code == 0 else "failed")
    assert report["commands"][0]["exit_code"] == 0
    assert json.loads(json.dumps(report)) == report


def test_schema_rejects_what_the_report_never_contains():
    report = build_report("deploy", [], progress(), [succeeded()], 0, "")
    for broken in ({**report, "schema_version": 2}, {**report, "exit_code": 7},
                   {**report, "surprise": True}):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_dry_run_and_interrupted_outcomes():
    assert build_report("deploy", [], progress(), [], 0, "", dry_run=True)["outcome"] == "dry run"
    assert build_report("deploy", [], progress(), [], 130, "x")["outcome"] == "interrupted"


# -- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, secret", [
    ("kubectl --token abcdef123456 get pods", "abcdef123456"),
    ("kubectl --token=abcdef123456 get pods", "abcdef123456"),
    ("curl -H 'Authorization: Bearer eyJhbGciOi.payload.sig' url", "eyJhbGciOi.payload.sig"),
    ("curl https://deploy:hunter2hunter2@registry.example/v2/", "hunter2hunter2"),
    ("API_TOKEN=supersecret1 ./notify.sh", "supersecret1"),
    ("mysql --password s3cr3t-pass", "s3cr3t-pass"),
])
def test_patterns_are_masked(text, secret):
    masked = Redactor()(text)
    assert secret not in masked and MASK in masked


def test_ordinary_text_is_left_alone():
    text = "kubectl --namespace globepay-dev rollout status deployment/backend --timeout=30s"
    assert Redactor()(text) == text


def test_kubeconfig_credentials_are_masked_wherever_they_appear(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "clusters": [{"name": "c", "cluster": {"server": "https://u:urlpassword1@k8s:6443"}}],
        "users": [
            {"name": "a", "user": {"token": "tok-0123456789", "client-key-data": "S0VZREFUQQ=="}},
            {"name": "b", "user": {"username": "admin", "password": "pa55word-b"}},
            {"name": "c", "user": {"exec": {"command": "aws", "env": [
                {"name": "AWS_PROFILE", "value": "globepay-deployer"}]}}},
        ],
    }))
    redact = Redactor()
    redact.add_kubeconfig(kubeconfig)
    text = ("hook said tok-0123456789 S0VZREFUQQ== pa55word-b globepay-deployer urlpassword1; "
            "user admin")
    masked = redact(text)
    for secret in ("tok-0123456789", "S0VZREFUQQ==", "pa55word-b", "globepay-deployer",
                   "urlpassword1"):
        assert secret not in masked
    assert "user admin" in masked


def test_report_and_progress_lines_are_redacted():
    stream = io.StringIO()
    run = Progress(stream, color=False, redactor=Redactor(["tok-0123456789"]))
    run.step("dev", "post hook", "curl --token tok-0123456789")
    run.output("dev", "hook", "token is tok-0123456789")
    run.command("kubectl --token tok-0123456789 get pods", run.started, 0)
    result = hook_failed()
    result.hooks[0] = HookResult("h", "post", False, "exited 1", 0.1, "tok-0123456789")
    report = build_report("deploy", ["invoke", "--token=tok-0123456789"], run, [result], 3,
                          "tok-0123456789")
    assert "tok-0123456789" not in json.dumps(report) + stream.getvalue()


# -- summary table and GitHub ------------------------------------------------------------------


def test_summary_table_lists_images_revisions_and_failures():
    report = build_report("deploy-all", [], progress(), [hook_failed()], 3, "x")
    lines = summary_lines(report)
    assert lines[0].split() == ["ENV", "RESULT", "TIME", "IMAGES", "REVISIONS"]
    assert "rolled back" in lines[1] and "backend:1.5.0, frontend:1.4.1" in lines[1]
    assert "backend 1->2, frontend 1" in lines[1]
    run = progress()
    from globepay_tasks.report import print_summary

    print_summary(run, report)
    text = run.stream.getvalue()
    assert "dev reason: post-promotion hook 'pytest tests/smoke' failed" in text
    assert "dev rolled back: deployment/backend" in text


def test_next_line_names_the_failed_environment_for_exits_2_3_4_only():
    def ended(code: int, outcome: str, env: str = "prod/eu") -> str:
        result = succeeded()
        result.env, result.outcome, result.exit_code = env, outcome, code
        return next_line(build_report("deploy-all", [], progress(), [result], code, "x"))

    assert ended(2, "rolled back").startswith("next: invoke history --env prod shows the "
                                              "failed run (prod was rolled back)")
    assert ended(2, "failed, not rolled back").startswith("next: invoke status --env prod ")
    assert ended(4, "rollback failed") == ended(2, "failed, not rolled back")
    assert ended(3, "rolled back").startswith("next: fix what the failed hook reports")
    assert ended(1, "refused") == ended(5, "failed") == ended(0, "succeeded") == ""


def test_escaping_follows_the_workflow_command_rules():
    assert github.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    line = github.error_annotation("line one\nline two", "globepay deploy: failed")
    assert line == "::error title=globepay deploy%3A failed::line one%0Aline two"
    assert "\n" not in line


def test_step_summary_markdown():
    preflight = build_report("deploy", [], progress(), [], 1, "overlay | does not build")
    assert "overlay \\| does not build" in github.step_summary(preflight)
    report = build_report("deploy", [], progress(), [hook_failed()], 3, "dev: hook failed")
    text = github.step_summary(report)
    assert text.startswith("### globepay deploy: failed (exit 3)\n")
    assert "| env | result | duration | images | revisions |" in text
    assert "| dev | rolled back | 2.5s | backend:1.5.0, frontend:1.4.1 |" in text
    assert "- dev rolled back: deployment/backend" in text
    assert "<details><summary>dev post hook <code>pytest tests/smoke</code>" in text
    assert "dev: hook failed" not in text  # the reason line says it
    assert "FAILED test_login | 50%" in text


def test_publish_appends_summary_and_annotates_failures_only_in_actions(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    lines: list[str] = []
    ok = build_report("deploy", [], progress(), [succeeded()], 0, "")
    failed = build_report("deploy", [], progress(), [hook_failed()], 3, "hook 50%\nfailed")
    environ = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    assert github.publish(ok, environ, lines.append) is None
    assert lines == []
    github.publish(failed, environ, lines.append)
    assert lines == ["::error title=globepay deploy failed (exit 3)::hook 50%25%0Afailed"]
    text = summary.read_text()
    assert text.startswith("earlier step\n### globepay deploy: succeeded (exit 0)")
    assert "### globepay deploy: failed (exit 3)" in text
    github.publish(failed, {}, lines.append)
    assert len(lines) == 1
    warning = github.publish(ok, {"GITHUB_STEP_SUMMARY": str(tmp_path)}, lines.append)
    assert warning and "GITHUB_STEP_SUMMARY" in warning


def test_report_path_is_checked_before_the_run(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        check_report_path(str(tmp_path))
    target = tmp_path / "new" / "dir" / "report.json"
    check_report_path(str(target))
    write_report(str(target), {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert list(target.parent.iterdir()) == [target]


# -- progress: readiness, colour ---------------------------------------------------------------


def _deployment_state(available: int, replicas: int = 3) -> dict:
    return {"kind": "Deployment", "metadata": {"name": "backend", "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "replicas": replicas,
                       "updatedReplicas": replicas, "availableReplicas": available}}


def test_rollout_states_become_readiness_lines_and_repeats_are_dropped():
    readiness = Readiness()
    waiting = kinds.rollout(_deployment_state(2))
    assert readiness.line("prod", "backend", waiting) == ("backend 2/3 ready", "info")
    assert readiness.line("prod", "backend", waiting) is None
    assert readiness.pending("prod", ["backend", "frontend"]) == [
        "backend 2/3 ready", "frontend no progress reported yet"]
    done = kinds.rollout(_deployment_state(3))
    assert readiness.line("prod", "backend", done) == ("backend 3/3 ready", "ok")
    assert readiness.pending("prod", ["backend"]) == []
    failed = kinds.failure('deployment "backend" exceeded its progress deadline')
    assert readiness.line("dev", "backend", failed) == (
        'backend: error: deployment "backend" exceeded its progress deadline', "fail")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("environ, colored", [
    ({}, True), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": ""}, True), ({"TERM": "dumb"}, False),
])
def test_colour_only_on_a_terminal_without_no_color(environ, colored):
    assert use_color(_Tty(), environ) is colored
    assert use_color(io.StringIO(), environ) is False


def test_plain_progress_has_no_escape_codes():
    stream = io.StringIO()
    run = Progress(stream, color=False)
    run.header("dev")
    run.step("dev", "rollback", "failed", "fail")
    assert "\033" not in stream.getvalue()
    painted = Progress(_Tty(), color=True)
    painted.step("dev", "done", "succeeded", "ok")
    assert "\033[32m" in painted.stream.getvalue()


class _FullFile(io.StringIO):
    """A stream that takes 20 characters, then fails as a file over ``ulimit -f`` does."""

    def write(self, text: str) -> int:
        if self.tell() + len(text) > 20:
            raise OSError(27, "File too large")
        return super().write(text)


def test_a_stream_that_takes_no_more_lines_stops_the_lines_not_the_run(capsys):
    run = Progress(_FullFile(), color=False)
    run.write("short line")
    for name in ("plan", "apply", "wait"):
        run.step("dev", name, "a line too long for the stream")
    assert run.stream.getvalue() == "short line\n" and run.lost == "File too large"
    assert [step.name for step in run.steps] == ["plan", "apply", "wait"]  # for the report
    assert capsys.readouterr().err == "warning: progress lines stopped: File too large\n"


# -- plan --------------------------------------------------------------------------------------


def _deployment(name: str, tag: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {
                "containers": [{"name": name, "image": IMAGE + tag}]}}}}


def test_plan_new_change_unchanged_unknown():
    objects = (_deployment("backend", "1.5.0"), _deployment("frontend", "1.4.1"),
               _deployment("worker", "1.0"), _deployment("cron", "2.0"))
    refs = tuple(WorkloadRef("Deployment", o["metadata"]["name"]) for o in objects)
    rendered = Rendered("k8s/overlays/dev", objects, refs, "k8s/overlays/dev")
    key = template_key(objects[1]["spec"]["template"])
    before = {
        refs[0]: WorkloadState(refs[0], True, images={"backend": IMAGE + "1.4.1"}, applied="x"),
        refs[1]: WorkloadState(refs[1], True, images={"frontend": IMAGE + "1.4.1"}, applied=key),
        refs[3]: WorkloadState(refs[3], True, images={"cron": IMAGE + "2.0"}),
    }
    planned = predict(rendered, before)
    assert [p.action for p in planned] == ["change", "unchanged", "create", "unknown"]
    assert planned[0].describe() == "deployment/backend: change, backend 1.4.1 -> 1.5.0"
    assert planned[2].describe() == "deployment/worker: create, worker 1.0"
    assert summarize(planned) == "1 to change, 1 to create, 1 unchanged, 1 unknown"


def test_basic_auth_header_masked_but_the_word_basic_is_not():
    redact = Redactor()
    assert redact("Authorization: Basic dXNlcjpwYXNz") == f"Authorization: Basic {MASK}"
    assert redact("Basic checks passed") == "Basic checks passed"


def test_heartbeat_names_the_workloads_still_rolling_out():
    import time

    run = progress()
    with run.waiting("prod", ["backend", "frontend"], every=0.05):
        run.rollout("prod", "backend", kinds.rollout(_deployment_state(1)))
        run.rollout("prod", "frontend", kinds.rollout(_deployment_state(3)))
        time.sleep(0.2)
    beats = [s.message for s in run.steps if s.message.startswith("still waiting")]
    assert beats and all(m.endswith(": backend 1/3 ready") for m in beats)
    count = len(run.steps)
    time.sleep(0.1)
    assert len(run.steps) == count, "no heartbeat after the wait"


def test_logged_runner_records_commands_redacted_with_exit_codes():
    from invoke import Context

    from globepay_tasks.command_log import LoggedRunner

    run = progress()
    runner = LoggedRunner(Context(), run, dry_run=True)
    runner.run(["kubectl", "--token", "abcdef123456", "apply", "-k", "k8s/overlays/dev"])
    runner.run(["sh", "-c", "exit 3"], local_only=True)
    announced, local = run.commands
    assert (announced.command, announced.exit_code, announced.dry_run) == (
        "kubectl --token *** apply -k k8s/overlays/dev", None, True)
    assert (local.exit_code, local.dry_run) == (3, False) and local.seconds > 0
    assert "+ kubectl --token *** apply" in run.stream.getvalue()
