"""The runner: argument lists through Invoke's Context, dry-run, streaming, cancellation."""

from __future__ import annotations

import time

from invoke import Context, MockContext, Result

from globepay_tasks.command_result import TIMED_OUT, CommandResult
from globepay_tasks.interrupts import clear_interrupt, request_interrupt, settle_writes
from globepay_tasks.runner import Runner


def test_argv_is_quoted_and_output_captured():
    result = Runner(Context()).run(["printf", "%s|", "a b", "$(id)", "c;d"])
    assert result.ok and result.stdout == "a b|$(id)|c;d|"


def test_exit_code_and_error_line_are_reported_not_raised():
    result = Runner(Context()).run(["sh", "-c", "echo first >&2; echo 'error: last' >&2; exit 3"])
    assert result.exit_code == 3 and result.error_line() == "error: last"


def test_error_line_is_kubectls_message_not_its_usage_hint():
    result = CommandResult("kubectl rollout undo", 1, stderr=(
        'error: invalid argument "99999999999999999999" for "--to-revision" flag: value out '
        "of range\nSee 'kubectl rollout undo --help' for usage.\n"))
    assert result.error_line().startswith('error: invalid argument "99999999999999999999"')


def test_dry_run_announces_cluster_commands_and_runs_local_ones():
    announced: list[str] = []
    context = MockContext(run={"printf local": Result("local")})
    runner = Runner(context, dry_run=True, announce=announced.append)
    assert runner.run(["kubectl", "apply", "-k", "k8s/overlays/dev"]).ok
    assert announced == ["+ kubectl apply -k k8s/overlays/dev"]
    assert runner.run(["printf", "local"], local_only=True).stdout == "local"


def test_lines_are_streamed_as_they_come():
    lines: list[str] = []
    Runner(Context()).run(["sh", "-c", "echo one; echo two >&2; printf three"],
                          on_line=lines.append)
    assert sorted(lines) == ["one", "three", "two"]


def test_timeout_gives_exit_124():
    started = time.monotonic()
    result = Runner(Context()).run(["sleep", "5"], timeout=1)
    assert result.exit_code == TIMED_OUT
    assert time.monotonic() - started < 4


def test_cancel_stops_the_whole_process_group():
    runner = Runner(Context())
    running = runner.start(["sh", "-c", "sleep 30 & sleep 30; echo never"])
    time.sleep(0.3)
    started = time.monotonic()
    running.cancel()
    result = running.join()
    assert not result.ok and "never" not in result.stdout
    assert time.monotonic() - started < 3


def test_long_output_lines_reach_the_sink_whole():
    """Invoke reads output in chunks and flushes after each: lines are not cut at them."""
    lines: list[str] = []
    Runner(Context()).run(["python3", "-c", "print('a' * 2500); print('b' * 10, end='')"],
                          on_line=lines.append)
    assert [len(line) for line in lines] == [2500, 10]


def test_an_interrupt_lets_a_running_write_finish_and_stops_a_read(tmp_path):
    """A write (``kubectl apply``) caught running is let finish (within its request timeout),
    so that the run sees what it changed; a read (``kubectl get``) is stopped at once."""
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\nsleep 1.5\necho \"$2\" >> {tmp_path / 'done'}\n")
    kubectl.chmod(0o755)
    runner = Runner(Context())
    write = runner.start([str(kubectl), "--request-timeout=5s", "apply", "-f", "m.yaml"])
    read = runner.start([str(kubectl), "--request-timeout=5s", "get", "pods"])
    time.sleep(0.5)
    started = time.monotonic()
    try:
        request_interrupt()
        for running in (write, read):
            running.wait(10)
        settle_writes(10)
    finally:
        clear_interrupt()
    assert (tmp_path / "done").read_text() == "apply\n"  # the read never got there
    assert 0.5 < time.monotonic() - started < 5


def test_a_read_the_api_server_does_not_answer_is_stopped_and_says_so(tmp_path):
    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\nsleep 30\n")
    kubectl.chmod(0o755)
    started = time.monotonic()
    result = Runner(Context()).run([str(kubectl), "--request-timeout=1s", "get", "pods"])
    assert time.monotonic() - started < 5
    assert result.exit_code == TIMED_OUT and not result.transient
    assert result.error_line() == "API server not answering: kubectl stopped: no answer within 3s"
