"""Safety building blocks: transient errors and retries, the lock's holder record, target
guards, configuration of the new keys, the YAML error hook."""

from __future__ import annotations

import copy
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from invoke import Context

from globepay_tasks.command_result import CommandResult
from globepay_tasks.config import DEFAULTS, load_settings
from globepay_tasks.errors import ConfigError
from globepay_tasks.excepthook import _yaml_error_line
from globepay_tasks.guards import (
    _normal,
    check_cluster_scoped,
    check_order,
    without_credentials,
)
from globepay_tasks.holder import Holder, ci_run_id, duration
from globepay_tasks.retry import RetryPolicy, is_transient
from globepay_tasks.runner import Runner


def settings(**changes):
    data = copy.deepcopy(DEFAULTS["globepay"])
    data.update(changes)
    return load_settings(data)


@pytest.mark.parametrize("text", [
    "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host?",
    "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
    "Error from server (InternalError): an error on the server has prevented the request",
    'error: unexpected error when reading response body. Please retry. Original error: '
    'unexpected EOF',
    "Unable to connect to the server: dial tcp 10.0.0.1:443: i/o timeout",
    "read tcp 10.0.0.2:5555->10.0.0.1:443: read: connection reset by peer",
    "http2: server sent GOAWAY and closed the connection",
    "Error from server (TooManyRequests): the server has received too many requests",
])
def test_transient_errors_are_recognised(text):
    assert is_transient(text)


@pytest.mark.parametrize("text", [
    'Error from server (NotFound): deployments.apps "web" not found',
    "Error from server (Forbidden): deployments.apps is forbidden",
    'The Deployment "web" is invalid: spec.replicas: Invalid value: -1',
    "error: timed out waiting for the condition",
    'error: deployment "web" exceeded its progress deadline',
    "Error from server (AlreadyExists): leases.coordination.k8s.io \"x\" already exists",
])
def test_permanent_errors_are_not_retried(text):
    assert not is_transient(text)


def test_a_server_that_let_the_request_time_out_is_named_and_not_retried():
    result = CommandResult("kubectl get", 1, stderr=(
        'E1205 memcache.go:381] "Could not get the API group list" err="Get …: '
        'net/http: request canceled (Client.Timeout exceeded while awaiting headers)"\n'
        "Unable to connect to the server: context deadline exceeded\n"))
    assert result.error_line() == ("API server not answering: Unable to connect to the server: "
                                   "context deadline exceeded")
    assert not result.transient


def test_backoff_doubles_and_is_bounded():
    policy = RetryPolicy(attempts=6, backoff=0.5, max_delay=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3, 3]


def test_idempotent_commands_are_retried_with_a_line_saying_so(tmp_path):
    counter = tmp_path / "count"
    script = (f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; "
              "[ $n -ge 2 ] || { echo 'Error from server (ServiceUnavailable): busy' >&2; "
              "exit 1; }; echo done")
    said: list[str] = []
    runner = Runner(Context(), announce=said.append)
    runner.retry = RetryPolicy(attempts=3, backoff=0.01)
    assert not runner.run(["sh", "-c", script]).ok  # not idempotent: no retry
    counter.unlink()
    result = runner.run(["sh", "-c", script], idempotent=True)
    assert result.ok and result.stdout.strip() == "done"
    assert len(said) == 2 and "(attempt 3 of 3)" in said[-1] and "ServiceUnavailable" in said[0]


def test_a_resumed_wait_gets_only_the_time_left(tmp_path):
    counter = tmp_path / "count"
    asked: list[float] = []

    def make_argv(left: float) -> list[str]:
        asked.append(left)
        return ["sh", "-c", f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > "
                f"{counter}; sleep 0.3; [ $n -ge 1 ] || {{ echo 'unexpected EOF' >&2; exit 1; }}"]

    said: list[str] = []
    runner = Runner(Context(), announce=said.append)
    runner.retry = RetryPolicy(attempts=3, backoff=0.2)
    result = runner.run_within(make_argv, 10)
    assert result.ok
    assert len(asked) == 2 and asked[0] > 9.9 and asked[1] < 9.6  # 0.3 s ran, 0.2 s paused
    assert "resumed" in said[0] and "of its timeout left" in said[0]


def test_urls_lose_their_credentials_in_messages():
    assert without_credentials("https://u:p@k8s.example:6443/x") == "https://k8s.example:6443/x"
    assert without_credentials("http://127.0.0.1:80") == "http://127.0.0.1:80"


def test_holder_round_trips_through_a_lease_and_expires():
    me = Holder.me(ttl=60)
    lease = me.lease("globepay-promotion", "globepay-dev")
    assert lease["spec"]["leaseDurationSeconds"] == 60
    back = Holder.of(yaml.safe_load(yaml.safe_dump(lease)))
    assert back.token == me.token and back.identity == me.identity and back.pid == me.pid
    assert abs(back.acquired - me.acquired) < 0.01
    assert not back.expired() and back.expired(time.time() + 61)
    renewed = Holder.of(me.lease("x", "y", renewed=time.time() + 100))
    assert not renewed.expired(time.time() + 150)
    assert Holder.of({"spec": {}}).describe() == "unknown holder since an unknown time"


def test_holder_description_names_user_pid_ci_run_and_age():
    holder = Holder("alice@ci-7", "4242", "991.2", 1000.0, 420, "t")
    assert holder.describe(now=1192.0) == "alice@ci-7 (pid 4242, CI run 991.2) for 3m12s " \
        "(TTL 7m00s)"
    assert ci_run_id({"GITHUB_RUN_ID": "991", "GITHUB_RUN_ATTEMPT": "2"}) == "991.2"
    assert ci_run_id({"CI_PIPELINE_ID": "17"}) == "17" and ci_run_id({}) == ""
    assert [duration(s) for s in (5, 65, 7300)] == ["5s", "1m05s", "2h01m"]


def test_server_urls_compare_without_credentials_default_ports_or_slashes():
    assert _normal("https://u:p@K8S.example:443/") == _normal("https://k8s.example")
    assert _normal("http://127.0.0.1:80/clusters/dev/") == _normal("http://127.0.0.1/clusters/dev")
    assert _normal("https://k8s.example:6443") != _normal("https://k8s.example")


def test_cluster_scoped_objects_and_order_guards():
    config = settings()
    dev = config.environment("dev")
    role = ({"kind": "ClusterRole", "metadata": {"name": "r"}},)
    with pytest.raises(ConfigError, match="cluster-scoped ClusterRole/r"):
        check_cluster_scoped(dev, role, ())
    check_cluster_scoped(dev, role, ("ClusterRole",))
    check_cluster_scoped(dev, ({"kind": "Namespace", "metadata": {"name": "globepay-dev"}},), ())
    lonely = settings(order=["dev", "prod"])
    with pytest.raises(ConfigError, match="staging is not in globepay.order"):
        check_order(lonely, lonely.environment("staging"))
    check_order(lonely, lonely.environment("prod"))


def test_new_configuration_keys_are_validated():
    config = settings()
    assert config.lock.enabled and config.lock.name == "globepay-promotion"
    assert config.lock.ttl_margin == 120 and config.retries == RetryPolicy(3, 0.5)
    assert config.environment("dev").server is None
    custom = settings(lock={"enabled": "false", "ttl_margin": 0}, retries={"attempts": 1})
    assert not custom.lock.enabled and custom.lock.ttl_margin == 0
    assert custom.retries.attempts == 1 and custom.retries.backoff == 0.5
    for changes, match in (
        ({"lock": {"name": "Bad Name"}}, "globepay.lock.name"),
        ({"lock": {"ttl": 5}}, "unknown configuration key globepay.lock.ttl"),
        ({"retries": {"attempts": 0}}, "globepay.retries.attempts"),
        ({"retries": {"backof": 1}}, "globepay.retries.backof"),
        ({"allow_cluster_scoped": "ClusterRole"}, "allow_cluster_scoped"),
    ):
        with pytest.raises(ConfigError, match=match):
            settings(**changes)
    data = copy.deepcopy(DEFAULTS["globepay"])
    data["environments"]["prod"]["server"] = "k8s.example:6443"
    with pytest.raises(ConfigError, match=r"environments\.prod\.server"):
        load_settings(data)


def test_yaml_errors_become_one_line():
    try:
        yaml.safe_load("globepay:\n  order: [dev\n  x: 1\n")
    except yaml.YAMLError as error:
        line = _yaml_error_line(error)
    assert line is not None and line.startswith("error: invalid YAML in <unicode string> line 3")
    assert _yaml_error_line(ValueError("x")) is None


def test_a_holder_is_gone_when_its_process_on_this_host_is():
    me = Holder.me(ttl=60)
    assert Holder.of(me.lease("x", "y")).gone() == ""  # this very process
    child = subprocess.Popen(["true"])
    dead = replace(me, pid=str(child.pid))
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rpartition(")")[2].split()[0] != "Z":  # exited, not yet reaped
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert dead.gone() == f"its process (pid {child.pid}) no longer runs on this host"
    child.wait()
    assert dead.gone() == f"its process (pid {child.pid}) no longer runs on this host"
    assert replace(me, boot="another-boot").gone() == "its host has restarted since"
    # another host, another pid namespace (a container of the same name), no record: may run
    assert replace(dead, host="elsewhere").gone() == ""
    assert replace(dead, pid_ns="pid:[1]").gone() == ""
    assert Holder("alice@ci-7", "4242", "", None, 60, "t").gone() == ""
