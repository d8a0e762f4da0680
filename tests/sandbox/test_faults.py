"""Fault injection, in-process and through the control endpoint, as kubectl experiences it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox

WEB = "/deployments/web$"


def test_status_fault_fails_the_next_requests_only(sandbox: Sandbox, kubectl,
                                                   shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    sandbox.add_fault(method="GET", path=WEB, status=503, count=2)
    for _ in range(2):
        failed = kubectl("get", "deployment", "web", "-n", "shop")
        assert failed.returncode == 1
        assert "Error from server (ServiceUnavailable)" in failed.stderr
    assert kubectl("get", "deployment", "web", "-n", "shop").returncode == 0
    assert [r.status for r in sandbox.requests if r.path.endswith("/deployments/web")][-3:] == \
        [503, 503, 200]


def test_fault_on_writes_of_one_cluster(sandbox: Sandbox, kubectl, shop: Path) -> None:
    sandbox.add_fault(method="POST", path="/deployments$", cluster="staging", status=500,
                      count=-1)
    assert kubectl("apply", "-k", str(shop / "base")).returncode == 0
    failed = kubectl("apply", "-k", str(shop / "base"), cluster="staging")
    assert failed.returncode == 1
    assert "Error from server (InternalError)" in failed.stderr
    assert sandbox.get("staging", "apps/v1", "Deployment", "shop", "web") is None
    sandbox.clear_faults()
    assert kubectl("apply", "-k", str(shop / "base"), cluster="staging").returncode == 0


def test_latency_and_closed_connection(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    sandbox.add_fault(method="GET", path=WEB, status=None, latency=0.5)
    started = time.monotonic()
    slow = kubectl("get", "deployment", "web", "-n", "shop")
    assert slow.returncode == 0
    assert time.monotonic() - started >= 0.5
    sandbox.add_fault(method="GET", path=WEB, close=True)
    cut = kubectl("get", "deployment", "web", "-n", "shop")
    assert cut.returncode == 1
    assert "unexpected EOF" in cut.stderr


def test_watch_closed_mid_stream_is_resumed(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("annotate", "deployment/web", "-n", "shop", "sandbox.globepay.dev/rollout-seconds=8")
    kubectl("apply", "-k", str(shop / "v2"))
    sandbox.add_fault(method="GET", path="/deployments$", close=True)
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    assert 'deployment "web" successfully rolled out' in status.stdout
    # 1.37 gets its watch-list cut after the initial events, 1.32 its LIST; both retry
    collection = [r for r in sandbox.requests if r.path.endswith("/deployments")]
    assert len(collection) >= 2


def test_control_endpoint(sandbox: Sandbox) -> None:
    status, _, body = request(sandbox, "POST", "/_sandbox/faults", cluster=None, auth=None,
                              body={"method": "GET", "path": "^/version$", "status": 429})
    assert status == 201 and body["faults"][0]["status"] == 429
    assert request(sandbox, "GET", "/version")[0] == 429
    assert request(sandbox, "GET", "/version")[0] == 200
    request(sandbox, "POST", "/_sandbox/faults", cluster=None, auth=None,
            body={"path": "^/version$", "count": -1})
    assert request(sandbox, "GET", "/version")[0] == 503
    assert request(sandbox, "DELETE", "/_sandbox/faults", cluster=None, auth=None)[0] == 200
    assert request(sandbox, "GET", "/version")[0] == 200
    bad = request(sandbox, "POST", "/_sandbox/faults", cluster=None, auth=None,
                  body={"nonsense": 1})
    assert bad[0] == 400
    assert request(sandbox, "GET", "/_sandbox/unimplemented", cluster=None, auth=None)[2] == []
    info = request(sandbox, "GET", "/_sandbox", cluster=None, auth=None)[2]
    assert info["clusters"] == ["dev", "staging", "prod"]
    assert request(sandbox, "GET", "/_sandbox/nothing", cluster=None, auth=None)[0] == 404


def test_advance_moves_simulated_time(tmp_path: Path, kubectl_runner) -> None:
    run_kubectl = kubectl_runner
    slow = Sandbox(tmp_path / "kubeconfig", clusters=("dev",), rollout_seconds=3600,
                   time_scale=1)
    (tmp_path / "kubecache").mkdir()
    with slow:
        manifest = ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: default}\n"
                    "spec:\n  template:\n    spec:\n      restartPolicy: Never\n"
                    "      containers: [{name: m, image: busybox}]\n")
        assert run_kubectl(slow, "create", "-f", "-", input=manifest).returncode == 0
        assert run_kubectl(slow, "wait", "--for=condition=complete", "job/j",
                           "--timeout=1s").returncode == 1
        status, _, _ = request(slow, "POST", "/_sandbox/advance", cluster=None, auth=None,
                               body={"seconds": 3600})
        assert status == 200
        done = run_kubectl(slow, "wait", "--for=condition=complete", "job/j", "--timeout=5s")
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("fields", [{"status": 99}, {"path": "("}])
def test_invalid_faults_are_rejected(sandbox: Sandbox, fields: dict) -> None:
    with pytest.raises((ValueError, re.error)):
        sandbox.add_fault(**fields)
