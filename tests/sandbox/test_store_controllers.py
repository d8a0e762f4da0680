"""Store semantics and controller timelines, driven in-process on a manually advanced clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_http import eventually

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.errors import ApiError
from globepay_tasks.sandbox.podutil import image_id
from globepay_tasks.sandbox.resources import by_kind
from globepay_tasks.sandbox.selectors import parse_label_selector
from globepay_tasks.sandbox.store import Store

CM = by_kind("v1", "ConfigMap")
DEPLOY = by_kind("apps/v1", "Deployment")


def _deployment(image: str = "nginx:1.25", replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 100,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}




@pytest.fixture
def manual(tmp_path: Path):
    """A sandbox whose clock only moves when the test advances it (10 s rollouts)."""
    with Sandbox(tmp_path / "kc", clusters=("dev",), rollout_seconds=10,
                 time_scale=1e-6) as sb:
        yield sb


def _replicasets_observed(sb: Sandbox, count: int) -> bool:
    """Every ReplicaSet has been reconciled once (so its scale-up timer started)."""
    sets = sb.list("dev", "apps/v1", "ReplicaSet", "default")
    return len(sets) == count and all("status" in rs for rs in sets)


def _status(sb: Sandbox) -> dict:
    return (sb.get("dev", "apps/v1", "Deployment", "default", "web") or {}).get("status") or {}


def test_store_versions_generation_and_noop() -> None:
    store = Store("t")
    created = store.create(CM, {"metadata": {"name": "a", "namespace": "default"},
                                "data": {"k": "v"}})
    rv = created["metadata"]["resourceVersion"]
    assert store.update(CM, created)["metadata"]["resourceVersion"] == rv
    changed = dict(created, data={"k": "w"})
    assert int(store.update(CM, changed)["metadata"]["resourceVersion"]) == int(rv) + 1
    with pytest.raises(ApiError) as stale:
        store.update(CM, changed)
    assert stale.value.code == 409
    deployment = store.create(DEPLOY, _deployment())
    assert deployment["metadata"]["generation"] == 1
    relabelled = dict(deployment, metadata={**deployment["metadata"], "labels": {"x": "y"}})
    assert store.update(DEPLOY, relabelled)["metadata"]["generation"] == 1
    current = store.get(DEPLOY, "default", "web")
    current["spec"]["replicas"] = 5
    assert store.update(DEPLOY, current)["metadata"]["generation"] == 2
    with pytest.raises(ApiError) as missing:
        store.create(CM, {"metadata": {"name": "b", "namespace": "nowhere"}})
    assert missing.value.code == 404 and missing.value.message == 'namespaces "nowhere" not found'


def test_store_orphan_and_cascade() -> None:
    store = Store("t")
    owner = store.create(CM, {"metadata": {"name": "owner", "namespace": "default"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    store.create(CM, {"metadata": {"name": "child", "namespace": "default",
                                   "ownerReferences": [ref]}})
    store.delete(CM, "default", "owner", propagation="Orphan")
    child = store.get(CM, "default", "child")
    assert child is not None and "ownerReferences" not in child["metadata"]
    owner = store.create(CM, {"metadata": {"name": "owner", "namespace": "default"}})
    store.create(CM, {"metadata": {"name": "child2", "namespace": "default", "ownerReferences": [
        {**ref, "uid": owner["metadata"]["uid"]}]}})
    store.delete(CM, "default", "owner")
    assert store.get(CM, "default", "child2") is None


def test_namespace_termination() -> None:
    store = Store("t")
    namespace = by_kind("v1", "Namespace")
    store.create(namespace, {"metadata": {"name": "shop"}})
    store.create(CM, {"metadata": {"name": "a", "namespace": "shop"}})
    store.delete(namespace, None, "shop")
    assert store.get(namespace, None, "shop")["status"]["phase"] == "Terminating"
    assert store.get(CM, "shop", "a") is not None
    with pytest.raises(ApiError) as refused:
        store.create(CM, {"metadata": {"name": "b", "namespace": "shop"}})
    assert refused.value.code == 403
    store.finalize_namespace("shop")
    assert store.get(namespace, None, "shop") is None and store.get(CM, "shop", "a") is None


@pytest.mark.parametrize("selector, labels, expected", [
    ("a=b,c!=d", {"a": "b", "c": "x"}, True),
    ("a=b,c!=d", {"a": "b", "c": "d"}, False),
    ("e in (x, y),f notin (z)", {"e": "y", "f": "q"}, True),
    ("e in (x,y)", {"e": "z"}, False),
    ("g,!h", {"g": "1"}, True),
    ("g,!h", {"g": "1", "h": "2"}, False),
])
def test_label_selectors(selector: str, labels: dict, expected: bool) -> None:
    assert parse_label_selector(selector)(labels) is expected


def test_image_ids_are_deterministic() -> None:
    assert image_id("nginx:1.25") == image_id("nginx:1.25")
    assert image_id("registry.example:5000/team/app:2").startswith(
        "docker-pullable://registry.example:5000/team/app@sha256:")
    digest = "sha256:" + "a" * 64
    assert image_id(f"nginx@{digest}") == f"docker-pullable://nginx@{digest}"
    assert image_id(f"registry.example:5000/app:1.25@{digest}") == (  # the tag left out
        f"docker-pullable://registry.example:5000/app@{digest}")


def test_deployment_rollout_steps(manual: Sandbox) -> None:
    manual.create("dev", _deployment())
    status = eventually(lambda: _status(manual).get("conditions") and _status(manual))
    assert status.get("updatedReplicas", 0) == 0
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Progressing"] == \
        "NewReplicaSetCreated"
    eventually(lambda: _replicasets_observed(manual, 1))
    manual.advance(5)
    status = eventually(lambda: _status(manual).get("updatedReplicas") == 2 and _status(manual))
    assert status.get("availableReplicas", 0) == 0
    manual.advance(5)
    status = eventually(lambda: _status(manual).get("availableReplicas") == 2 and _status(manual))
    assert {c["type"]: c["reason"] for c in status["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}

    web = manual.get("dev", "apps/v1", "Deployment", "default", "web")
    web["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:broken"
    manual._cluster("dev").api.replace(DEPLOY, "default", "web", web)
    eventually(lambda: _status(manual).get("observedGeneration") == 2
                and _status(manual).get("updatedReplicas", 0) == 0)
    eventually(lambda: _replicasets_observed(manual, 2))
    manual.advance(10)
    eventually(lambda: _status(manual).get("updatedReplicas") == 2)
    status = _status(manual)
    assert status["replicas"] == 4 and status["availableReplicas"] == 2
    manual.advance(100)
    progressing = eventually(lambda: [c for c in _status(manual)["conditions"]
                                       if c["reason"] == "ProgressDeadlineExceeded"])
    assert progressing[0]["status"] == "False"
    pods = manual.list("dev", "v1", "Pod", "default")
    broken = [p for p in pods if p["spec"]["containers"][0]["image"] == "nginx:broken"]
    assert len(broken) == 2
    waiting = broken[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"


def test_job_timeline(manual: Sandbox) -> None:
    manual.create("dev", {"apiVersion": "batch/v1", "kind": "Job",
                          "metadata": {"name": "j", "namespace": "default"},
                          "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                         "containers": [{"name": "m",
                                                                         "image": "busybox"}]}}}})

    def job() -> dict:
        return manual.get("dev", "batch/v1", "Job", "default", "j") or {}

    eventually(lambda: job().get("status", {}).get("active") == 1)
    assert job()["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == \
        job()["metadata"]["uid"]
    manual.advance(10)
    eventually(lambda: job().get("status", {}).get("succeeded") == 1)
    assert [c["type"] for c in job()["status"]["conditions"]] == ["SuccessCriteriaMet",
                                                                  "Complete"]


@pytest.mark.parametrize("seconds, shown", [
    (-5, "<invalid>"), (0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600, "3h"),
    (3 * 3600 + 120, "3h2m"), (30 * 3600, "30h"), (3 * 86400 + 3600, "3d1h"),
    (400 * 86400, "400d"), (3 * 365 * 86400, "3y"),
])
def test_age_column_format(seconds: int, shown: str) -> None:
    from globepay_tasks.sandbox.printers import human_duration

    assert human_duration(seconds) == shown
