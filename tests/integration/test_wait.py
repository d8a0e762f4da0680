"""workloads.wait_all against the sandbox (or a real cluster) with the real kubectl: one watch
per kind, kubectl's rollout status verdicts and messages."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import REGISTRY
from invoke import Context

from globepay_tasks import workloads
from globepay_tasks.kinds import Rollout
from globepay_tasks.kubectl import Target, WorkloadRef
from globepay_tasks.runner import Runner

APP = f"{REGISTRY}/app:1"
BROKEN = f"{REGISTRY}/app:broken"


def deployment(name: str, image: str = APP, deadline: int = 600, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": deadline,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


class Waiter:
    """Creates workloads in the dev cluster's namespace and waits for them with wait_all."""

    def __init__(self, project, monkeypatch) -> None:
        self.project = project
        self.sandbox = project.sandbox
        self.namespace = project.namespace("dev")
        monkeypatch.setenv("KUBECACHEDIR", str(project.cache))
        project.cluster.create("dev", {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": self.namespace}})
        self.target = Target(project.kubectl_bin, self.namespace, project.context("dev"),
                             str(project.kubeconfig))
        self.lines: list[tuple[str, str]] = []
        self.on_line = lambda name, line: None

    def _line(self, ref: WorkloadRef, state: Rollout) -> None:
        self.lines.append((ref.name, state.message))
        self.on_line(ref.name, state.message)

    def create(self, *objects: dict) -> list[WorkloadRef]:
        for obj in objects:
            obj["metadata"]["namespace"] = self.namespace
            self.project.cluster.create("dev", obj)
        return [WorkloadRef(obj["kind"], obj["metadata"]["name"]) for obj in objects]

    def wait(self, refs, timeout: float = 20) -> tuple[dict, float]:
        if self.sandbox:
            self.sandbox.clear_requests()
        started = time.monotonic()
        outcomes = workloads.wait_all(Runner(Context()), self.target, refs, timeout,
                                      on_status=self._line)
        return {o.ref.name: o for o in outcomes}, time.monotonic() - started

    def reads(self) -> list[str]:
        """Paths read during the last wait (sandbox only: its request log), discovery left
        out. ``kubectl get --watch`` lists the collection, then watches it from there; when
        the list already shows every verdict the wait ends before the watch request."""
        return [r.path for r in self.sandbox.requests
                if r.method == "GET" and "/namespaces/" in r.path]


@pytest.fixture
def waiter(project, monkeypatch) -> Waiter:
    return Waiter(project, monkeypatch)


def test_many_workloads_roll_out_through_one_watch(waiter):
    refs = waiter.create(*(deployment(f"svc-{i}", replicas=2) for i in range(6)))
    outcomes, _ = waiter.wait(refs)
    assert all(o.ok and o.message == "rolled out" for o in outcomes.values())
    assert outcomes["svc-3"].last["status"]["availableReplicas"] == 2
    assert ("svc-5", 'deployment "svc-5" successfully rolled out') in waiter.lines
    if waiter.sandbox:  # one kubectl for all six: a list and a watch of the collection
        reads = waiter.reads()
        assert 1 <= len(reads) <= 2 and all(path.endswith("/deployments") for path in reads)


def test_timeout_gives_kubectls_message(waiter):
    refs = waiter.create(deployment("stuck", image=BROKEN))
    outcomes, seconds = waiter.wait(refs, timeout=1)
    assert not outcomes["stuck"].ok
    assert outcomes["stuck"].message == "error: timed out waiting for the condition"
    assert 1 <= seconds < 10


def test_progress_deadline_fails_and_stops_the_others_early(waiter):
    refs = waiter.create(
        deployment("broken", image=BROKEN, deadline=10),
        deployment("slow", image=f"{BROKEN}-too"),
        deployment("fine"),
    )
    outcomes, seconds = waiter.wait(refs, timeout=30)
    assert outcomes["broken"].message == 'error: deployment "broken" exceeded its progress deadline'
    assert outcomes["slow"].message == "stopped: another workload failed"
    assert outcomes["fine"].ok
    assert seconds < 20  # well before the 30 s timeout


def test_jobs_and_deployments_together_one_watch_per_kind(waiter):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "migrate", "image": f"{REGISTRY}/migrate:1", "command": ["true"]}]}}}}
    refs = waiter.create(deployment("web"), job)
    outcomes, _ = waiter.wait(refs)
    assert outcomes["web"].ok and outcomes["migrate"].ok
    assert outcomes["migrate"].message == "complete"
    if waiter.sandbox:
        read = sorted({path.rsplit("/", 1)[-1] for path in waiter.reads()})
        assert read == ["deployments", "jobs"] and len(waiter.reads()) <= 4


def test_a_workload_no_event_named_is_not_observed(waiter):
    """Not "NotFound": the watch cannot tell a workload that is not there from a server that
    did not say (the deploy reads it again to know which)."""
    refs = waiter.create(deployment("web"))
    outcomes, _ = waiter.wait([*refs, WorkloadRef("Deployment", "nope")], timeout=1)
    assert outcomes["web"].ok and not outcomes["web"].undecided
    assert outcomes["nope"].message == (
        "not observed: no watch event named deployment/nope within 1s")
    assert outcomes["nope"].undecided


def test_a_workload_deleted_while_waiting_fails_the_wait(waiter):
    refs = waiter.create(deployment("gone", image=BROKEN))
    seen = threading.Event()
    waiter.on_line = lambda name, line: seen.set()

    def delete_once_seen() -> None:
        if seen.wait(30):
            waiter.project.cluster.delete("dev", "apps/v1", "Deployment", waiter.namespace,
                                          "gone")

    deleter = threading.Thread(target=delete_once_seen)
    deleter.start()
    try:
        outcomes, seconds = waiter.wait(refs, timeout=30)
    finally:
        seen.set()
        deleter.join()
    assert outcomes["gone"].message == "error: object has been deleted"
    assert seconds < 30
