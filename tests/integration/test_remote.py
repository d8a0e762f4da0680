"""Remote environments: the promotion tasks through a real sshd on 127.0.0.1, with the sandbox
as the cluster behind it, and the configuration of hosts, gateways and SSH options."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from conftest import REGISTRY, REPO, output, report
from invoke import Context
from sshd import SshServer, sshd, use_ssh
from test_failures import start, wait_for

from globepay_tasks import audit
from globepay_tasks.command_result import TIMED_OUT
from globepay_tasks.config import load_settings
from globepay_tasks.errors import ConfigError
from globepay_tasks.hosts import Remote, SshOptions, parse_address
from globepay_tasks.kubectl import Target
from globepay_tasks.remote import staged
from globepay_tasks.report import load_schema
from globepay_tasks.runner import Runner

__all__ = ["sshd"]

BACKEND = f"{REGISTRY}/backend"
BROKEN = f"{BACKEND}:9.9.9-broken"


def remote_dev(project, server: SshServer, **extra) -> None:
    use_ssh(project, server)
    project.env_settings("dev").update(host=server.address, **extra)


def test_importing_the_tasks_and_listing_them_loads_no_ssh_library():
    code = textwrap.dedent("""
        import sys
        from invoke.main import program
        program.run(["invoke", "--list"], exit=False)
        import tasks
        loaded = sorted(m for m in ("fabric", "paramiko") if m in sys.modules)
        assert not loaded, loaded
        assert "globepay_tasks.ssh" not in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "deploy-all" in result.stdout


def test_local_deploy_loads_no_ssh_library(project):
    (project.root / "no_ssh.py").write_text(textwrap.dedent("""
        import sys

        def check(context):
            loaded = [m for m in ("fabric", "paramiko") if m in sys.modules]
            return f"loaded: {loaded}" if loaded else "no ssh library loaded"
    """))
    project.env_settings("dev")["post_promotion"] = [{"python": "no_ssh:check"}]
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    assert "no ssh library loaded" in output(result)


def test_deploy_rollback_and_status_through_ssh(project, sshd):
    remote_dev(project, sshd)
    for tag in ("1.5.1", "1.5.2"):
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:{tag}")
        assert result.returncode == 0, output(result)
    text = output(result)
    assert f"host {sshd.address}" in text
    assert "apply: kubectl apply -f, rendered from" in text and f" on {sshd.address}" in text
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.2"
    assert sshd.logins() >= 2
    assert any((sshd.dir / "remote-kubecache").iterdir()), "kubectl did not run on the host"
    assert list(sshd.remote_tmp.iterdir()) == [], "the uploaded manifest was left behind"

    result = project.invoke("rollback", "--env", "dev", "--only", "backend")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"

    result = project.invoke("status", "--env", "dev", "--json")
    assert result.returncode == 0, output(result)
    data = json.loads(result.stdout)["environments"]["dev"]
    assert data["host"] == sshd.address
    rows = {row["workload"]: row for row in data["workloads"]}
    assert rows["deployment/backend"]["images"] == {"backend": f"{BACKEND}:1.5.1"}
    assert rows["deployment/backend"]["revision"] == "3"


def test_deploy_all_with_one_remote_environment_and_a_remote_hook(project, sshd):
    use_ssh(project, sshd)
    staging = project.env_settings("staging")
    staging["host"] = sshd.address
    where = 'echo "where=${GLOBEPAY_SSH_TEST:-here} env=$GLOBEPAY_ENV"'
    staging["post_promotion"] = [{"run": where, "remote": True}, where,
                                 {"python": "globepay_tasks.checks:healthy"}]
    result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "where=remote env=staging" in text and "where=here env=staging" in text
    assert text.count(f"host {sshd.address}") == 1
    for env in ("dev", "staging", "prod"):
        assert project.deployment(env, "backend")["status"]["availableReplicas"] >= 1
    assert sshd.logins() == 1, "one connection carries every command of the run"


def test_dry_run_reads_over_ssh_for_its_plan_and_announces_the_writes(project, sshd):
    remote_dev(project, sshd)
    with project.untouched():
        result = project.invoke("deploy-dev", "--dry-run")
    assert result.returncode == 0, output(result)
    assert "dev      plan: deployment/backend: create, backend 1.5.0 [deploy]" in result.stdout
    remote = [line for line in result.stdout.splitlines()
              if line.startswith(f"+ [{sshd.address}] ")]
    assert any(" apply -f /tmp/globepay." in line for line in remote), result.stdout
    assert any(" get deployment --watch " in line for line in remote)
    assert not any("--dry-run=server" in line for line in remote), "the server's check ran"
    assert sshd.logins() == 1, "the reads went over one connection"


def test_gateway_hop(project, sshd):
    remote_dev(project, sshd, gateway=sshd.address)
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    assert project.deployment("dev", "backend")["status"]["availableReplicas"] == 1
    gateway, host = sshd.connections()
    assert sshd.logins() == 2, "one login on the gateway, one on the host through it"
    assert set(sshd.sessions()) == {host}, "commands ran on the host, not on the gateway"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("case", ["unreachable", "gateway unreachable", "refused key",
                                  "unknown host key"])
def test_ssh_failures_are_one_clear_line_and_change_nothing(project, sshd, tmp_path, case):
    remote_dev(project, sshd)
    dev = project.env_settings("dev")
    expected = f"ssh {sshd.address}: "
    if case == "unreachable":
        dev["host"] = f"{sshd.user}@127.0.0.1:{_closed_port()}"
        expected = f"ssh {dev['host']}: host unreachable (connection refused)"
    elif case == "gateway unreachable":
        dev["gateway"] = f"jump@127.0.0.1:{_closed_port()}"
        expected = f"ssh gateway {dev['gateway']}: host unreachable (connection refused)"
    elif case == "refused key":
        use_ssh(project, sshd, key=sshd.other_key)
        expected += f"authentication refused (key: {sshd.other_key})"
    else:
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("")
        use_ssh(project, sshd, known_hosts=empty)
        expected += "host key unknown (ssh-ed25519 SHA256:"
    with project.untouched(reads=True):
        result = project.invoke("deploy-dev")
    assert result.returncode == 1, output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_unknown_host_key_accepted_only_when_configured_and_never_silently(project, sshd,
                                                                          tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    use_ssh(project, sshd, known_hosts=empty)
    project.settings["ssh"]["accept_unknown_hosts"] = True
    result = project.invoke("status", "--env", "dev", "--host", sshd.address)
    assert result.returncode == 0, output(result)
    assert f"== dev ({project.namespace('dev')}) on {sshd.address}" in result.stdout
    assert "accepting unknown host key ssh-ed25519 SHA256:" in result.stdout
    assert empty.read_text() == "", "the accepted key is not written anywhere"
    assert sshd.logins() == 1


def test_bad_host_flag_is_a_usage_error(project):
    result = project.invoke("deploy-dev", "--host", "deploy@bastion:99999")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: --host must look like user@host:port (user and "
                                     "port optional), not 'deploy@bastion:99999'")


def _stall_rollouts(project) -> None:
    """A broken image then keeps the wait waiting (no progress deadline in reach)."""
    for manifest in (project.root / "k8s" / "base").glob("*-deployment.yaml"):
        manifest.write_text(manifest.read_text().replace("progressDeadlineSeconds: 30",
                                                         "progressDeadlineSeconds: 6000"))


def _when_waiting(project, env: str, name: str, action) -> threading.Thread:
    """Call ``action`` once the wait is watching ``env``'s Deployments (``name`` among them)."""
    watching = project.watch_started(env)

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if watching():
                action()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_connection_dropped_mid_wait_is_rolled_back_after_reconnecting(project, sshd):
    remote_dev(project, sshd)
    _stall_rollouts(project)
    assert project.invoke("deploy-dev").returncode == 0
    good = project.image("dev", "backend")
    logins = sshd.logins()
    dropper = _when_waiting(project, "dev", "backend", sshd.drop_connections)
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    dropper.join(timeout=5)
    assert result.returncode == 2, output(result)
    assert f"ssh {sshd.address}: connection lost" in result.stderr
    assert "rolled back deployment/backend" in result.stderr
    assert project.image("dev", "backend") == good
    assert sshd.logins() == logins + 2, "the rollback ran on a new connection"


def test_connection_lost_for_good_says_what_is_left_and_exits_4(project, sshd):
    remote_dev(project, sshd)
    _stall_rollouts(project)
    assert project.invoke("deploy-dev").returncode == 0
    dropper = _when_waiting(project, "dev", "backend", sshd.stop)
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    dropper.join(timeout=5)
    assert result.returncode == 4, output(result)
    line = result.stderr.strip()
    assert "ROLLBACK FAILED in dev" in line and "deployment/backend" in line
    assert f"ssh {sshd.address}: host unreachable (connection refused)" in line
    assert project.image("dev", "backend") == BROKEN


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "connection dropped"])
def test_a_cancelled_remote_wait_leaves_no_kubectl_on_the_host(project, sshd, sig):
    """Ctrl-C, SIGTERM, and the client killed (the host sees its connection drop) each end
    the wait's kubectl on the host: nothing else would (--no-rollback: no later change of
    the Deployment reaches its watch)."""
    remote_dev(project, sshd)
    _stall_rollouts(project)
    assert project.invoke("deploy-dev").returncode == 0
    watching = project.watch_started("dev")
    process = start(project, "deploy-dev", "--image", f"backend={BROKEN}", "--no-rollback")
    wait_for(watching)
    assert project.kubectl_processes(), "the wait's kubectl runs on the host"
    process.send_signal(sig)
    text, _ = process.communicate(timeout=60)
    assert process.returncode == (-sig if sig == signal.SIGKILL else 130), text
    wait_for(lambda: not project.kubectl_processes(), seconds=5)


@pytest.mark.parametrize("raw, message", [
    ({"environments": {"dev": {"host": "deploy@bastion:99999"}}},
     "globepay.environments.dev.host must look like user@host:port"),
    ({"environments": {"dev": {"host": "deploy@bastion; rm -rf /"}}},
     "globepay.environments.dev.host must look like user@host:port"),
    ({"environments": {"dev": {"gateway": "jump@gw"}}},
     "globepay.environments.dev.gateway is set but globepay.environments.dev.host is not"),
    ({"environments": {"dev": {"post_promotion": [{"http": "http://x/", "remote": True}]}}},
     "unknown configuration key globepay.environments.dev.post_promotion[0].remote"),
    ({"environments": {"dev": {"context": "a", "targets": [{"context": "b"}]}}},
     "give each target its context instead of globepay.environments.dev.context"),
    ({"environments": {"dev": {"targets": [{"context": "a"}, {"context": "a"}]}}},
     "globepay.environments.dev.targets names 'a' twice"),
    ({"environments": {"dev": {"targets": [{"context": "a", "namespace": "x"}]}}},
     "unknown configuration key globepay.environments.dev.targets[0].namespace"),
    ({"environments": {"dev": {"targets": [{"name": "eu"}]}}},
     "globepay.environments.dev.targets[0].context must be a kube context name"),
    ({"environments": {"dev": {"targets": [{"context": "a", "gateway": "jump@gw"}]}}},
     "targets[0].gateway is set but neither"),
    ({"ssh": {"known_host": "x"}}, "unknown configuration key globepay.ssh.known_host"),
    ({"ssh": {"connect_timeout": 0}}, "globepay.ssh.connect_timeout must be greater than 0"),
])
def test_bad_remote_configuration_names_the_key(raw, message):
    with pytest.raises(ConfigError) as error:
        load_settings({"order": ["dev"], "environments": {"dev": {}}, **raw})
    assert message in error.value.message


def test_remote_configuration_reaches_the_kubectl_target():
    settings = load_settings({
        "order": ["dev"],
        "ssh": {"known_hosts": "/ci/known_hosts", "accept_unknown_hosts": "false"},
        "environments": {"dev": {
            "host": "deploy@bastion:2222", "gateway": "jump@[::1]",
            "post_promotion": [{"run": ["true"], "remote": True}],
        }},
    })
    dev = settings.environment("dev")
    remote = settings.target(dev).remote
    assert (str(remote), str(remote.gateway)) == ("deploy@bastion:2222", "jump@::1")
    assert remote.ssh.known_hosts == "/ci/known_hosts" and not remote.ssh.accept_unknown_hosts
    assert dev.post_promotion[0].remote
    assert settings.target(settings.with_host(None, ["dev"]).environment("dev")) == (
        settings.target(dev))
    assert settings.target(replace(dev, host=None)).remote is None


def test_targets_are_environments_of_their_own():
    settings = load_settings({"order": ["prod"], "environments": {"prod": {
        "host": "deploy@bastion", "pre_promotion": [["true"]],
        "targets": [{"name": "eu", "context": "prod-eu"},
                    {"context": "prod-us", "host": "deploy@us-bastion:2200"}],
    }}})
    eu, us = settings.environment("prod").clusters()
    assert (eu.name, eu.context, str(eu.host)) == ("prod/eu", "prod-eu", "deploy@bastion")
    assert (us.name, us.context, str(us.host)) == ("prod/prod-us", "prod-us",
                                                   "deploy@us-bastion:2200")
    assert eu.pre_promotion == () and eu.targets == ()
    overridden = settings.with_host("ops@other", ["prod"]).environment("prod").clusters()
    assert {str(part.host) for part in overridden} == {"ops@other"}


@pytest.mark.two_clusters
def test_two_cluster_environment_rolls_back_both_when_one_fails(project, sshd, tmp_path):
    use_ssh(project, sshd)
    dev = project.env_settings("dev")
    dev["context"] = None
    dev["targets"] = [
        {"name": "a", "context": project.context("dev"), "host": sshd.address},
        {"name": "b", "context": project.context("staging")},
    ]
    dev["post_promotion"] = [{"python": "globepay_tasks.checks:healthy"}]
    path = tmp_path / "report.json"
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1",
                            "--report", str(path))
    assert result.returncode == 0, output(result)
    assert [(e["env"], e["outcome"]) for e in report(path)["environments"]] == [
        ("dev", "succeeded"), ("dev/a", "succeeded"), ("dev/b", "succeeded")]
    for cluster in ("dev", "staging"):
        assert project.image_in(cluster, project.namespace("dev"), "backend") == \
            f"{BACKEND}:1.5.1"

    broken = project.context("staging")
    dev["post_promotion"].append(f'test "$GLOBEPAY_CONTEXT" != {broken}')
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.2",
                            "--report", str(path))
    assert result.returncode == 3, output(result)
    data = report(path)
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    rows = {e["env"]: e for e in data["environments"]}
    assert rows["dev/a"]["outcome"] == rows["dev/b"]["outcome"] == "rolled back"
    assert rows["dev/a"]["reason"].startswith("dev/a: undone because dev/b failed")
    assert rows["dev/a"]["images"]["deployment/backend"] == {"backend": f"{BACKEND}:1.5.1"}
    assert "post-promotion hook" in rows["dev/b"]["reason"]
    assert result.stderr.startswith("error: dev: dev/b: post-promotion hook")
    text = output(result)
    assert "dev/a" in text and "dev/b" in text
    for cluster in ("dev", "staging"):
        assert project.image_in(cluster, project.namespace("dev"), "backend") == \
            f"{BACKEND}:1.5.1"
    for cluster, part in (("dev", "dev/a"), ("staging", "dev/b")):  # each one's record
        records = audit.records_in(project.cluster.list(cluster, "v1", "ConfigMap",
                                                        project.namespace("dev")))
        record = next(r for r in records if r["id"] == rows[part]["record"])
        assert (record["outcome"], record["reason"]) == ("rolled back", rows[part]["reason"])

    result = project.invoke("rollback", "--env", "dev", "--only", "backend")
    assert result.returncode == 0, output(result)
    result = project.invoke("status", "--env", "dev", "--json")
    data = json.loads(result.stdout)["environments"]
    assert sorted(data) == ["dev/a", "dev/b"] and data["dev/a"]["host"] == sshd.address
    for part in data.values():
        rows = {row["workload"]: row for row in part["workloads"]}
        assert rows["deployment/backend"]["images"] == {"backend": f"{BACKEND}:1.5.2"}


def _remote_runner(server: SshServer, *, dry_run: bool = False) -> Runner:
    options = SshOptions(known_hosts=str(server.known_hosts), identity_file=str(server.user_key))
    remote = Remote(parse_address("host", server.address), None, options)
    return Runner(Context(), dry_run=dry_run).at(Target("kubectl", "ns", remote=remote))


def test_staged_manifest_is_private_and_removed_on_every_way_out(sshd):
    runner = _remote_runner(sshd)
    try:
        with staged(runner, "manifest.yaml", "kind: List\n") as path:
            manifest = Path(path)
            assert manifest.parent.parent == sshd.remote_tmp
            assert stat.S_IMODE(manifest.parent.stat().st_mode) == 0o700
            assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
            assert manifest.read_text() == "kind: List\n"
        assert not manifest.parent.exists()
        with pytest.raises(RuntimeError), staged(runner, "manifest.yaml", "x"):
            raise RuntimeError("apply blew up")
        assert list(sshd.remote_tmp.iterdir()) == []
    finally:
        runner.close()


def test_remote_commands_time_out_and_cancel_like_local_ones(sshd):
    runner = _remote_runner(sshd)
    try:
        started = time.monotonic()
        assert runner.run(["sleep", "30"], timeout=1).exit_code == TIMED_OUT
        running = runner.start(["sleep", "30"])
        time.sleep(0.3)
        running.cancel()
        assert not running.join().ok
        assert time.monotonic() - started < 6
        result = runner.run("echo $GLOBEPAY_X", env={"GLOBEPAY_X": "a b; $(id)"})
        assert result.stdout == "a b; $(id)\n"
    finally:
        runner.close()
