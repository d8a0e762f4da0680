"""Container failures reported as a kubelet reports them, seen through the real kubectl:
images that cannot be pulled (``broken``: ErrImagePull, then ImagePullBackOff) and commands
that exit with code 1 (``crash``: CrashLoopBackOff with a growing restart count; Jobs that run
out of retries)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_http import eventually

from globepay_tasks import pods as product_pods
from globepay_tasks.kubectl import WorkloadRef
from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.goformat import duration
from globepay_tasks.sandbox.podutil import (
    PULL_ERROR_SECONDS,
    crash_loop,
    normalized_reference,
    pull_error,
)
from globepay_tasks.sandbox.printers import _pod_conditions, _pod_row

BROKEN = "registry.example.com/team/app:2.0-broken"
CRASH = "registry.example.com/team/app:2.0-crash"

DEPLOYMENT = """apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  progressDeadlineSeconds: 10
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: app, image: "{image}"}}]
"""

SETS = """apiVersion: v1
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
      containers: [{name: db, image: "postgres:16-crash"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "fluent/fluent-bit:3.0-crash"}]
"""

JOB = """apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: default}}
spec:
  backoffLimit: {limit}
  template:
    spec:
      restartPolicy: {policy}
      containers: [{{name: migrate, image: "example/migrate:1-crash"}}]
"""

#: ``kubectl get pods`` rows: NAME READY STATUS RESTARTS (``N`` or ``N (AGE ago)``) AGE
ROW = re.compile(r"^(?P<name>\S+)\s+(?P<ready>\d+/\d+)\s+(?P<status>\S+)\s+"
                 r"(?P<restarts>\d+(?: \(\S+ ago\))?)\s+(?P<age>\S+)$")




def _rows(result) -> list[dict[str, str]]:  # noqa: ANN001
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], lines[0]
    rows = []
    for line in lines[1:]:
        match = ROW.match(line)
        assert match, line
        rows.append(match.groupdict())
    return rows


def _restarts(row: dict[str, str]) -> int:
    return int(row["restarts"].split()[0])


def _pods(sandbox: Sandbox, namespace: str) -> list[dict]:
    return sandbox.list("dev", "v1", "Pod", namespace)


def _listed(run: Callable[..., object], namespace: str) -> list[dict]:
    result = run("get", "pods", "-n", namespace, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["items"]


@pytest.fixture
def manual(tmp_path: Path) -> Iterator[Sandbox]:
    """A one-cluster sandbox whose clock only moves when the test advances it."""
    (tmp_path / "kubecache").mkdir()
    with Sandbox(tmp_path / "kubeconfig", clusters=("dev",), rollout_seconds=2,
                 time_scale=1e-6) as sb:
        yield sb


@pytest.fixture
def manual_kubectl(manual: Sandbox, kubectl_any: str, kubectl_runner):  # noqa: ANN001
    """``kubectl(*args, input=None)`` against the ``manual`` sandbox (each kubectl binary)."""

    def run(*args: str, input: str | None = None):  # noqa: A002, ANN202
        return kubectl_runner(manual, *args, kubectl=kubectl_any, input=input)

    return run


# --- image pulls ---------------------------------------------------------------------------


def test_a_broken_image_is_errimagepull_then_imagepullbackoff(manual: Sandbox,
                                                              manual_kubectl) -> None:
    applied = manual_kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=1,
                                                                         image=BROKEN))
    assert applied.returncode == 0, applied.stderr
    eventually(lambda: any("status" in rs for rs in manual.list(
        "dev", "apps/v1", "ReplicaSet", "shop")))
    manual.advance(1)  # half the rollout time: the ReplicaSet makes its pod
    eventually(lambda: _pods(manual, "shop"))

    [row] = _rows(manual_kubectl("get", "pods", "-n", "shop"))
    assert (row["ready"], row["status"], row["restarts"]) == ("0/1", "ErrImagePull", "0")
    [pod] = _listed(manual_kubectl, "shop")
    assert pod["status"]["phase"] == "Pending"
    [container] = pod["status"]["containerStatuses"]
    assert container["state"] == {"waiting": {
        "reason": "ErrImagePull",
        "message": 'rpc error: code = NotFound desc = failed to pull and unpack image '
                   f'"{BROKEN}": failed to resolve reference "{BROKEN}": {BROKEN}: not found'}}
    assert (container["ready"], container["started"], container["restartCount"]) == \
        (False, False, 0)

    manual.advance(PULL_ERROR_SECONDS)  # the kubelet backs off
    eventually(lambda: _pods(manual, "shop")[0]["status"]["containerStatuses"][0]["state"][
        "waiting"]["reason"] == "ImagePullBackOff")
    [row] = _rows(manual_kubectl("get", "pods", "-n", "shop"))
    assert (row["ready"], row["status"], row["restarts"]) == ("0/1", "ImagePullBackOff", "0")
    [pod] = _listed(manual_kubectl, "shop")
    assert pod["status"]["phase"] == "Pending"
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {
        "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{BROKEN}"'}}
    ready = {c["type"]: c for c in pod["status"]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "ContainersNotReady", "containers with unready status: [app]")
    manual.advance(600)  # and never gets the image
    time.sleep(0.1)
    assert _pods(manual, "shop")[0]["status"]["containerStatuses"][0]["state"]["waiting"][
        "reason"] == "ImagePullBackOff"


def test_a_bare_pod_reports_its_pull_error_too(manual: Sandbox) -> None:
    manual.create("dev", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "solo", "namespace": "default"},
                          "spec": {"containers": [{"name": "a", "image": "nginx:broken"},
                                                  {"name": "b", "image": "nginx:1.27"}]}})

    def states() -> list[dict]:
        pod = manual.get("dev", "v1", "Pod", "default", "solo") or {}
        return [c["state"]["waiting"] for c in
                (pod.get("status") or {}).get("containerStatuses") or []]

    eventually(states)
    assert states() == [{"reason": "ErrImagePull",
                         "message": pull_error("nginx:broken")},
                        {"reason": "ContainerCreating"}]
    assert "docker.io/library/nginx:broken" in states()[0]["message"]
    manual.advance(PULL_ERROR_SECONDS)
    eventually(lambda: states()[0]["reason"] == "ImagePullBackOff")
    assert states()[0]["message"] == 'Back-off pulling image "nginx:broken"'


# --- crash loops ---------------------------------------------------------------------------


def test_a_crashing_deployment_crash_loops_and_misses_its_deadline(sandbox: Sandbox,
                                                                   kubectl) -> None:
    applied = kubectl("apply", "-f", "-", input=DEPLOYMENT.format(replicas=2, image=CRASH))
    assert applied.returncode == 0, applied.stderr
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    assert status.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in status.stderr

    rows = _rows(kubectl("get", "pods", "-n", "shop"))
    assert len(rows) == 2
    for row in rows:
        assert (row["ready"], row["status"]) == ("0/1", "CrashLoopBackOff")
        assert _restarts(row) >= 1 and row["restarts"].endswith(" ago)"), row
    before = max(_restarts(row) for row in rows)

    sandbox.advance(600)  # ten simulated minutes: restarts at 10, 30, 70, 150, 310, 610 s
    eventually(lambda: all(c["restartCount"] >= 6 for p in _pods(sandbox, "shop")
                            for c in p["status"]["containerStatuses"]))
    rows = _rows(kubectl("get", "pods", "-n", "shop"))
    assert {row["status"] for row in rows} == {"CrashLoopBackOff"}
    assert min(_restarts(row) for row in rows) >= max(before + 1, 6)

    listed = _listed(kubectl, "shop")
    for pod in listed:
        meta, status = pod["metadata"], pod["status"]
        assert status["phase"] == "Running"
        [container] = status["containerStatuses"]
        assert (container["ready"], container["started"]) == (False, False)
        restarts = container["restartCount"]
        assert restarts >= 6
        waiting = container["state"]["waiting"]
        assert waiting["reason"] == "CrashLoopBackOff"
        assert waiting["message"] == (
            f"back-off {duration(crash_loop(10_000)[1])} restarting failed container=app "
            f"pod={meta['name']}_shop({meta['uid']})")
        last = container["lastState"]["terminated"]
        assert (last["exitCode"], last["reason"]) == (1, "Error")
        assert last["startedAt"] <= last["finishedAt"]
        assert last["containerID"] == container["containerID"]
        assert container["imageID"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == conditions["ContainersReady"]["status"] == \
            "False"
        assert conditions["Ready"]["message"] == "containers with unready status: [app]"
    deployment = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    assert deployment["status"].get("availableReplicas", 0) == 0

    # what the product makes of it
    said = product_pods.reasons(listed, WorkloadRef("Deployment", "web"))
    assert len(said) == 1, said  # one line for the container, not one per pod
    for line in said:  # the kubelet's message names the pod
        assert re.fullmatch(r"pod (web-[a-z0-9]+-[a-z0-9]+): CrashLoopBackOff: back-off 5m0s "
                            r"restarting failed container=app pod=\1_shop\(\S+\)", line), line


def test_crashing_statefulset_and_daemonset_never_become_ready(sandbox: Sandbox,
                                                               kubectl) -> None:
    assert kubectl("apply", "-f", "-", input=SETS).returncode == 0
    result = kubectl("rollout", "status", "statefulset/db", "-n", "shop", "--timeout=2s")
    assert result.returncode == 1
    assert "timed out waiting for the condition" in result.stderr
    eventually(lambda: len(_pods(sandbox, "shop")) == 5 and all(
        p["status"]["phase"] == "Running" for p in _pods(sandbox, "shop")))
    rows = _rows(kubectl("get", "pods", "-n", "shop"))
    assert sorted(row["name"] for row in rows) == [
        "agent-node-1", "agent-node-2", "agent-node-3", "db-0", "db-1"]
    assert {(row["ready"], row["status"]) for row in rows} == {("0/1", "CrashLoopBackOff")}
    daemonset = sandbox.get("dev", "apps/v1", "DaemonSet", "shop", "agent")
    assert daemonset["status"]["numberReady"] == 0
    assert daemonset["status"]["numberUnavailable"] == 3


def test_only_the_crashing_container_of_a_pod_crash_loops(manual: Sandbox) -> None:
    manual.create("dev", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "duo", "namespace": "default"},
                          "spec": {"containers": [{"name": "app", "image": "app:1-crash"},
                                                  {"name": "proxy", "image": "envoy:1"}]}})
    eventually(lambda: manual.get("dev", "v1", "Pod", "default", "duo").get("status"))
    manual.advance(1)  # half the rollout time: the containers start
    eventually(lambda: manual.get("dev", "v1", "Pod", "default", "duo")["status"][
        "phase"] == "Running")
    status = manual.get("dev", "v1", "Pod", "default", "duo")["status"]
    app, proxy = status["containerStatuses"]
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert app["restartCount"] == 1
    assert app["state"]["waiting"]["message"].startswith("back-off 10s restarting failed "
                                                         "container=app pod=duo_default(")
    assert (proxy["ready"], proxy["started"], proxy["restartCount"]) == (True, True, 0)
    assert "running" in proxy["state"]
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert (ready["status"], ready["message"]) == ("False",
                                                   "containers with unready status: [app]")
    first_exit = app["lastState"]["terminated"]

    manual.advance(10)
    eventually(lambda: manual.get("dev", "v1", "Pod", "default", "duo")["status"][
        "containerStatuses"][0]["restartCount"] == 2)
    app = manual.get("dev", "v1", "Pod", "default", "duo")["status"]["containerStatuses"][0]
    assert app["state"]["waiting"]["message"].startswith("back-off 20s ")
    assert app["lastState"]["terminated"]["containerID"] != first_exit["containerID"]


def test_a_crashing_bare_pod_that_never_restarts_fails(manual: Sandbox) -> None:
    manual.create("dev", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "once", "namespace": "default"},
                          "spec": {"restartPolicy": "Never",
                                   "containers": [{"name": "task", "image": "task:crash"}]}})
    eventually(lambda: manual.get("dev", "v1", "Pod", "default", "once").get("status"))
    manual.advance(1)
    eventually(lambda: manual.get("dev", "v1", "Pod", "default", "once")["status"][
        "phase"] == "Failed")
    [container] = manual.get("dev", "v1", "Pod", "default", "once")["status"][
        "containerStatuses"]
    assert container["state"]["terminated"]["exitCode"] == 1
    assert container["state"]["terminated"]["reason"] == "Error"
    assert container["restartCount"] == 0


# --- Jobs ----------------------------------------------------------------------------------


def test_a_crashing_job_fails_with_backoff_limit_exceeded(sandbox: Sandbox, kubectl) -> None:
    created = kubectl("create", "-f", "-", input=JOB.format(limit=2, policy="Never"))
    assert created.returncode == 0, created.stderr
    waited = kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip() == "job.batch/migrate condition met"

    job = sandbox.get("dev", "batch/v1", "Job", "default", "migrate")
    assert job["status"]["failed"] == 3  # backoffLimit + 1
    assert "active" not in job["status"] and "succeeded" not in job["status"]
    conditions = {c["type"]: c for c in job["status"]["conditions"]}
    assert (conditions["Failed"]["reason"], conditions["Failed"]["message"]) == (
        "BackoffLimitExceeded", "Job has reached the specified backoff limit")

    rows = _rows(kubectl("get", "pods"))
    assert len(rows) == 3
    assert {(row["ready"], row["status"], row["restarts"]) for row in rows} == {
        ("0/1", "Error", "0")}
    listed = _listed(kubectl, "default")
    for pod in listed:
        assert pod["metadata"]["labels"]["job-name"] == "migrate"
        assert pod["status"]["phase"] == "Failed"
        [container] = pod["status"]["containerStatuses"]
        terminated = container["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
        assert terminated["startedAt"] <= terminated["finishedAt"]
        assert terminated["containerID"] == container["containerID"]
        assert (container["ready"], container["started"]) == (False, False)
    jobs = kubectl("get", "jobs")
    assert jobs.stdout.splitlines()[1].split()[:2] == ["migrate", "Failed"]
    assert product_pods.reasons([*listed, job], WorkloadRef("Job", "migrate")) == [
        "job/migrate: BackoffLimitExceeded: Job has reached the specified backoff limit"]


def test_a_crashing_job_replaces_failed_pods_after_the_controllers_backoff(
        manual: Sandbox) -> None:
    manual.create("dev", {"apiVersion": "batch/v1", "kind": "Job",
                          "metadata": {"name": "migrate", "namespace": "default"},
                          "spec": {"backoffLimit": 1, "template": {"spec": {
                              "restartPolicy": "Never",
                              "containers": [{"name": "m", "image": "migrate:crash"}]}}}})

    def job() -> dict:
        return manual.get("dev", "batch/v1", "Job", "default", "migrate") or {}

    def phases() -> list[str]:
        return sorted(p["status"]["phase"] for p in _pods(manual, "default"))

    eventually(lambda: job().get("status", {}).get("active") == 1)
    assert phases() == ["Running"]
    manual.advance(1)  # the command exits with 1
    eventually(lambda: job()["status"].get("failed") == 1)
    assert phases() == ["Failed"] and "active" not in job()["status"]
    manual.advance(9)  # the Job controller waits 10 s after the failure
    time.sleep(0.2)
    assert phases() == ["Failed"]
    manual.advance(1)
    eventually(lambda: phases() == ["Failed", "Running"])
    assert job()["status"]["active"] == 1
    manual.advance(1)
    eventually(lambda: [c["type"] for c in job()["status"].get("conditions") or []] == [
        "FailureTarget", "Failed"])
    assert job()["status"]["failed"] == 2
    assert phases() == ["Failed", "Failed"]


def test_a_crashing_job_restarting_on_failure_counts_restarts(sandbox: Sandbox,
                                                             kubectl) -> None:
    created = kubectl("create", "-f", "-", input=JOB.format(limit=2, policy="OnFailure"))
    assert created.returncode == 0, created.stderr
    waited = kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    job = sandbox.get("dev", "batch/v1", "Job", "default", "migrate")
    assert job["status"]["failed"] == 1
    assert {c["type"]: c["reason"] for c in job["status"]["conditions"]}["Failed"] == \
        "BackoffLimitExceeded"
    assert _pods(sandbox, "default") == []  # the failed Job's active pods are deleted


# --- the pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize("elapsed, expected", [
    (0, (1, 10, 0, 10)), (9.9, (1, 10, 0, 10)), (10, (2, 20, 10, 30)),
    (30, (3, 40, 30, 70)), (150, (5, 160, 150, 310)), (310, (6, 300, 310, 610)),
    (609, (6, 300, 310, 610)), (610, (7, 300, 610, 910)), (3610, (17, 300, 3610, 3910)),
])
def test_the_kubelets_restart_backoff(elapsed: float, expected: tuple) -> None:
    assert crash_loop(elapsed) == expected


@pytest.mark.parametrize("seconds, shown", [
    (0, "0s"), (10, "10s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"), (3600, "1h0m0s"),
    (3725, "1h2m5s")])
def test_go_durations(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize("image, reference", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:broken", "docker.io/library/nginx:broken"),
    ("example/migrate:broken", "docker.io/example/migrate:broken"),
    ("docker.io/nginx:1", "docker.io/library/nginx:1"),
    ("localhost/app:1", "localhost/app:1"),
    ("registry.example.com:5000/team/app:2-broken", "registry.example.com:5000/team/app:2-broken"),
    ("registry.example.com/app", "registry.example.com/app:latest"),
    ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64),
])
def test_image_references_as_containerd_resolves_them(image: str, reference: str) -> None:
    assert normalized_reference(image) == reference


def _waiting(reason: str) -> dict:
    return {"waiting": {"reason": reason}}


def _status(*containers: dict, init: tuple[dict, ...] = (), phase: str = "Running",
            initialized: bool = True, ready: bool = False) -> dict:
    status = {"phase": phase, "conditions": [
        {"type": "Initialized", "status": "True" if initialized else "False"},
        {"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": list(containers)}
    if init:
        status["initContainerStatuses"] = list(init)
    return status


def _pod(status: dict, containers: int = 1, inits: int = 0, deleted: bool = False) -> dict:
    meta = {"name": "p", "creationTimestamp": "2024-01-01T00:00:00Z"}
    if deleted:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "status": status, "spec": {
        "containers": [{"name": f"c{i}"} for i in range(containers)],
        "initContainers": [{"name": f"i{i}"} for i in range(inits)]}}


RUNNING = {"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}
DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}


@pytest.mark.parametrize("pod, ready, status", [
    (_pod(_status(RUNNING, ready=True)), "1/1", "Running"),
    (_pod(_status({"state": _waiting("CrashLoopBackOff")}, RUNNING), 2), "1/2",
     "CrashLoopBackOff"),
    (_pod(_status({"state": _waiting("ErrImagePull")}, phase="Pending")), "0/1",
     "ErrImagePull"),
    (_pod(_status({"state": {"terminated": {"exitCode": 137}}}, phase="Failed")), "0/1",
     "ExitCode:137"),
    (_pod(_status({"state": {"terminated": {"exitCode": 1, "signal": 9}}})), "0/1",
     "Signal:9"),
    (_pod(_status({"state": DONE}, RUNNING, ready=True), 2), "1/2", "Running"),
    (_pod(_status({"state": DONE}, RUNNING), 2), "1/2", "NotReady"),
    (_pod(_status({"state": _waiting("PodInitializing")}, phase="Pending", initialized=False,
                  init=({"state": _waiting("ImagePullBackOff")},)), 1, 1), "0/1",
     "Init:ImagePullBackOff"),
    (_pod(_status({"state": _waiting("PodInitializing")}, phase="Pending", initialized=False,
                  init=({"state": DONE}, {"state": {"running": {}}})), 1, 2), "0/1",
     "Init:1/2"),
    (_pod(_status({"state": _waiting("PodInitializing")}, phase="Pending", initialized=False,
                  init=({"state": {"terminated": {"exitCode": 2, "reason": "Error"}}},)), 1, 1),
     "0/1", "Init:Error"),
    (_pod(_status(RUNNING, ready=True), deleted=True), "1/1", "Terminating"),
    (_pod(_status({"state": {"terminated": {"exitCode": 1, "reason": "Error"}}},
                  phase="Failed"), deleted=True), "0/1", "Error"),
])
def test_pod_ready_and_status_columns_as_kubectl_prints_them(pod: dict, ready: str,
                                                             status: str) -> None:
    assert _pod_row(pod)[:2] == [ready, status]


def test_pod_restarts_column_counts_and_dates_the_last_restart() -> None:
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 75))
    crashed = {"name": "c", "restartCount": 3, "state": _waiting("CrashLoopBackOff"),
               "lastState": {"terminated": {"exitCode": 1, "finishedAt": finished}}}
    other = {**RUNNING, "restartCount": 1}
    row = _pod_row(_pod(_status(crashed, other), 2))
    assert row[1] == "CrashLoopBackOff"
    assert row[2] in ("4 (75s ago)", "4 (76s ago)")
    assert _pod_row(_pod(_status(RUNNING, ready=True)))[2] == "0"


def test_finished_pods_carry_the_completed_row_condition() -> None:
    assert _pod_conditions(_pod(_status(phase="Failed"))) == [
        {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    assert _pod_conditions(_pod(_status(phase="Succeeded")))[0]["reason"] == "Succeeded"
    assert _pod_conditions(_pod(_status())) == []
