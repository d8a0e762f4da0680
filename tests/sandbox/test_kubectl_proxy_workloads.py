"""Service proxy, StatefulSets, DaemonSets and Jobs driven by the real kubectl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from globepay_tasks.sandbox import Sandbox

PROXY = "/api/v1/namespaces/shop/services/{}/proxy/health"

WORKLOADS = """apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:16"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "fluent/fluent-bit:3.0"}]
"""

JOB = """apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: default}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: "{image}"}}]
"""


def test_proxy_ready_rolling_and_broken(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    for port in ("web", "web:80", "web:http"):
        ok = kubectl("get", "--raw", PROXY.format(port))
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout) == {"service": "web", "path": "/health",
                                         "image": "nginx:1.25", "revision": "1"}
    kubectl("apply", "-k", str(shop / "broken"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    broken = kubectl("get", "--raw", PROXY.format("web:80"))
    assert broken.returncode == 1
    assert 'Error from server (ServiceUnavailable): no endpoints available for service "web"' \
        in broken.stderr
    kubectl("rollout", "undo", "deployment/web", "-n", "shop")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    back = kubectl("get", "--raw", PROXY.format("web:80"))
    assert back.returncode == 0
    assert json.loads(back.stdout)["revision"] == "3"


def test_proxy_errors(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    unknown = kubectl("get", "--raw", PROXY.format("nope:80"))
    assert unknown.returncode == 1
    assert 'services "nope" not found' in unknown.stderr
    bad_port = kubectl("get", "--raw", PROXY.format("web:8080"))
    assert bad_port.returncode == 1
    assert "ServiceUnavailable" in bad_port.stderr


def test_proxy_while_rolling_out(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "slow"))
    rolling = kubectl("get", "--raw", PROXY.format("web:80"))
    assert rolling.returncode == 1
    assert "no endpoints available" in rolling.stderr


def test_proxy_on_other_clusters(sandbox: Sandbox, kubectl, shop: Path) -> None:
    """kubectl 1.32 drops the /clusters/<name> prefix for --raw; the URL credentials route it."""
    kubectl("apply", "-k", str(shop / "v2"), cluster="prod")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s", cluster="prod")
    result = kubectl("get", "--raw", PROXY.format("web:80"), cluster="prod")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["image"] == "nginx:1.26"
    assert kubectl("get", "--raw", PROXY.format("web:80")).returncode == 1  # nothing in dev


def test_statefulset_rollout_history_and_undo(sandbox: Sandbox, kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", "-", input=WORKLOADS)
    first = kubectl("rollout", "status", "statefulset/db", "-n", "shop", "--timeout=20s")
    assert first.returncode == 0, first.stderr
    assert "roll out complete: 2 new pods have been updated" in first.stdout
    assert {p["metadata"]["name"] for p in sandbox.list("dev", "v1", "Pod", "shop")
            if p["metadata"]["name"].startswith("db-")} == {"db-0", "db-1"}
    assert kubectl("set", "image", "statefulset/db", "db=postgres:17", "-n", "shop"
                   ).returncode == 0
    assert kubectl("rollout", "status", "statefulset/db", "-n", "shop",
                   "--timeout=20s").returncode == 0
    sts = sandbox.get("dev", "apps/v1", "StatefulSet", "shop", "db")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert sts["status"]["readyReplicas"] == 2
    history = kubectl("rollout", "history", "statefulset/db", "-n", "shop")
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == \
        ["1", "2"]
    undo = kubectl("rollout", "undo", "statefulset/db", "-n", "shop")
    assert undo.returncode == 0, undo.stderr
    assert "statefulset.apps/db rolled back" in undo.stdout
    assert kubectl("rollout", "status", "statefulset/db", "-n", "shop",
                   "--timeout=20s").returncode == 0
    image = sandbox.get("dev", "apps/v1", "StatefulSet", "shop", "db")["spec"]["template"][
        "spec"]["containers"][0]["image"]
    assert image == "postgres:16"
    revisions = sorted(cr["revision"] for cr in sandbox.list(
        "dev", "apps/v1", "ControllerRevision", "shop") if cr["metadata"]["name"].startswith("db-"))
    assert revisions == [2, 3]
    generation = sandbox.get("dev", "apps/v1", "StatefulSet", "shop", "db")["metadata"][
        "generation"]
    same = kubectl("rollout", "undo", "statefulset/db", "-n", "shop", "--to-revision=3")
    assert same.returncode == 0
    if kubectl.binary.endswith("kubectl.1.32"):
        # kubectl compares the revision's bytes with its own encoding of the template; 1.32
        # encodes like a 1.32 server (creationTimestamp: null), 1.37 does not and re-patches
        assert "skipped rollback (current template already matches revision 3)" in same.stdout
    else:
        assert "statefulset.apps/db rolled back" in same.stdout
    assert sandbox.get("dev", "apps/v1", "StatefulSet", "shop", "db")["metadata"][
        "generation"] == generation


def test_statefulset_broken_never_completes(sandbox: Sandbox, kubectl) -> None:
    kubectl("apply", "-f", "-", input=WORKLOADS)
    kubectl("rollout", "status", "statefulset/db", "-n", "shop", "--timeout=20s")
    kubectl("set", "image", "statefulset/db", "db=postgres:broken", "-n", "shop")
    result = kubectl("rollout", "status", "statefulset/db", "-n", "shop", "--timeout=1s")
    assert result.returncode == 1
    assert "timed out waiting for the condition" in result.stderr


def test_daemonset_rollout_history_and_undo(sandbox: Sandbox, kubectl) -> None:
    kubectl("apply", "-f", "-", input=WORKLOADS)
    first = kubectl("rollout", "status", "daemonset/agent", "-n", "shop", "--timeout=20s")
    assert first.returncode == 0, first.stderr
    assert 'daemon set "agent" successfully rolled out' in first.stdout
    ds = sandbox.get("dev", "apps/v1", "DaemonSet", "shop", "agent")
    assert ds["status"]["desiredNumberScheduled"] == ds["status"]["numberAvailable"] == 3
    assert {p["spec"]["nodeName"] for p in sandbox.list("dev", "v1", "Pod", "shop")
            if p["metadata"]["name"].startswith("agent-")} == {"node-1", "node-2", "node-3"}
    kubectl("set", "image", "daemonset/agent", "agent=fluent/fluent-bit:3.1", "-n", "shop")
    assert kubectl("rollout", "status", "daemonset/agent", "-n", "shop",
                   "--timeout=20s").returncode == 0
    undo = kubectl("rollout", "undo", "daemonset/agent", "-n", "shop")
    assert undo.returncode == 0, undo.stderr
    assert kubectl("rollout", "status", "daemonset/agent", "-n", "shop",
                   "--timeout=20s").returncode == 0
    history = kubectl("rollout", "history", "daemonset/agent", "-n", "shop")
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == \
        ["2", "3"]
    images = {p["spec"]["containers"][0]["image"] for p in sandbox.list("dev", "v1", "Pod", "shop")
              if p["metadata"]["name"].startswith("agent-")}
    assert images == {"fluent/fluent-bit:3.0"}


@pytest.mark.parametrize("image, condition, rc", [
    ("example/migrate:1", "complete", 0),
    ("example/migrate:broken", "failed", 0),
    ("example/migrate:broken", "complete", 1),
])
def test_job_wait(sandbox: Sandbox, kubectl, image: str, condition: str, rc: int) -> None:
    created = kubectl("create", "-f", "-", input=JOB.format(name="migrate", image=image))
    assert created.returncode == 0, created.stderr
    result = kubectl("wait", f"--for=condition={condition}", "job/migrate", "--timeout=1s")
    assert result.returncode == rc, result.stderr
    job = sandbox.get("dev", "batch/v1", "Job", "default", "migrate")
    if rc == 0:
        assert result.stdout.strip() == "job.batch/migrate condition met"
    else:
        assert "timed out waiting for the condition on jobs/migrate" in result.stderr
    if "broken" in image:
        assert job["status"]["failed"] >= 1
        assert {c["type"] for c in job["status"]["conditions"]} >= {"Failed"}
    else:
        assert job["status"]["succeeded"] == 1
        assert job["status"]["completionTime"]
        pods = sandbox.list("dev", "v1", "Pod", "default")
        assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
        assert pods[0]["metadata"]["labels"]["job-name"] == "migrate"
