"""Releases (issue #15), as pure functions: the ApplySet's id and labels, what a record keeps
of a release (never a Secret's value), what a failed run puts back, which record a rollback
goes back to, and kubectl diff without its noise."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from globepay_tasks import applyset, diffnoise, release
from globepay_tasks.errors import ConfigError
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION
from globepay_tasks.manifests import Rendered
from globepay_tasks.promotion.plan import DELETE, KEPT, predict_prunes
from globepay_tasks.promotion.release_rollback import choose
from globepay_tasks.promotion.restore import differences, written_back
from globepay_tasks.settings import Environment
from globepay_tasks.snapshot import Snapshot, unread_kinds

NS = "globepay-staging"


def obj(kind: str, name: str, version: str = "1", api: str = "v1", **rest) -> dict:
    return {"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": NS, "resourceVersion": version,
                         "uid": f"uid-{name}", **rest.pop("metadata", {})}, **rest}


def rendered(*objects: dict) -> Rendered:
    return applyset.labelled(Rendered("o", tuple(objects), (), "o"), NS)


def test_the_set_id_is_the_one_kubectl_computes() -> None:
    digest = hashlib.sha256(f"globepay-applyset.{NS}.ConfigMap.".encode()).digest()
    expected = "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"
    assert applyset.set_id(NS) == expected
    assert "=" not in expected and applyset.set_id("other") != expected


def test_members_are_labelled_and_the_namespace_is_not() -> None:
    out = rendered({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                   obj("ConfigMap", "cfg", metadata={"labels": {"app": "x"}}))
    namespace, config = out.objects
    assert applyset.PART_OF not in (namespace["metadata"].get("labels") or {})
    assert config["metadata"]["labels"] == {"app": "x", applyset.PART_OF: applyset.set_id(NS)}
    assert [json.loads(doc) for doc in out.manifest.split("---\n")] == list(out.objects)


def test_the_parent_names_its_kinds_as_kubectl_does() -> None:
    kinds = applyset.group_kinds([obj("Deployment", "a", api="apps/v1"), obj("Service", "s"),
                                  obj("Ingress", "i", api="networking.k8s.io/v1")])
    parent = applyset.parent(NS, kinds)
    assert parent["metadata"]["annotations"][applyset.KINDS] == (
        "Deployment.apps,Ingress.networking.k8s.io,Service")
    assert parent["metadata"]["labels"][applyset.ID_LABEL] == applyset.set_id(NS)
    assert applyset.parent_kinds(parent) == kinds
    assert applyset.resource_of_group_kind("Ingress.networking.k8s.io") == (
        "ingress.networking.k8s.io")


def test_a_kind_the_overlay_dropped_is_read_too() -> None:
    parent = applyset.parent(NS, {"Ingress.networking.k8s.io", "Service", "Deployment.apps"})
    now = rendered(obj("Service", "s"))
    assert unread_kinds(now, [parent]) == ["ingress.networking.k8s.io"]
    assert unread_kinds(now, []) == []


def test_prune_candidates_are_members_only() -> None:
    member = rendered(obj("Service", "old"), obj("Service", "kept")).objects
    stranger = obj("Service", "not-ours")
    live = Snapshot((*member, stranger))
    now = rendered(obj("Service", "kept"))
    assert [(p.name, p.action) for p in predict_prunes(now, live, NS, True)] == [("old", DELETE)]
    assert [p.action for p in predict_prunes(now, live, NS, False)] == [KEPT]
    assert predict_prunes(now, live, "globepay-prod", True) == []  # another set


def test_a_record_keeps_hashes_of_secret_values_and_they_come_back() -> None:
    secret = obj("Secret", "creds", data={"password": base64.b64encode(b"hunter2").decode()},
                 stringData={"token": "abc"})
    kept, values = release.recorded([secret, obj("ConfigMap", "cfg")])
    text = json.dumps(kept)
    assert "hunter2" not in text and base64.b64encode(b"hunter2").decode() not in text
    assert "abc" not in text
    assert set(kept["secret_hashes"]["creds"]) == {"data.password", "stringData.token"}
    stored = release.secrets_manifest(NS, "globepay-history-3", values)
    assert stored["kind"] == "Secret" and "hunter2" not in json.dumps(stored)
    back = release.objects_of(kept, release.secret_values(stored), "r1")
    assert back[0]["data"] == {"password": base64.b64encode(b"hunter2").decode()}
    assert back[0]["stringData"] == {"token": "abc"}  # as the overlay gave it
    with pytest.raises(ConfigError, match="secret/creds"):
        release.objects_of(kept, {"creds": {"data": {"password": "eA=="}}}, "r1")


def test_differences_name_what_to_put_back_delete_and_recreate() -> None:
    cfg_before = obj("ConfigMap", "cfg", "1", data={"LOG_LEVEL": "info"})
    cfg_now = obj("ConfigMap", "cfg", "7", data={"LOG_LEVEL": "trace"})
    same = obj("Service", "svc", "3")
    pruned = obj("Service", "old", "4")
    job = obj("Job", "migrate", "5", api="batch/v1")
    applied = {"kind": "Deployment", "spec": {"replicas": 1}}
    backend_before = obj("Deployment", "backend", "2", api="apps/v1", metadata={
        "annotations": {LAST_APPLIED_ANNOTATION: json.dumps(applied)}})
    backend_now = obj("Deployment", "backend", "9", api="apps/v1", metadata={
        "annotations": {LAST_APPLIED_ANNOTATION: "{}"}})
    worker = obj("Deployment", "worker", "8", api="apps/v1")
    before = Snapshot((cfg_before, same, pruned, job, backend_before))
    now = Snapshot((cfg_now, same, worker, obj("Job", "migrate", "6", api="batch/v1"),
                    backend_now))
    out = differences(before, now, rendered(cfg_now, same, worker, job, backend_now),
                      pruned=[("Service", "old")], replaced=[("Job", "migrate")],
                      undone=[("Deployment", "backend")])
    assert out.put_back == [written_back(cfg_before, keep_uid=True)]
    assert out.put_back[0]["data"] == {"LOG_LEVEL": "info"}
    assert "resourceVersion" not in out.put_back[0]["metadata"]
    assert out.recreate == [written_back(pruned, keep_uid=False)]
    assert "uid" not in out.recreate[0]["metadata"]
    assert out.remove == [worker]
    assert out.last_applied == [applied]
    assert out.after_undo == [written_back(backend_before, keep_uid=True)]
    assert out.not_restored == ["job/migrate: replaced by this run, not restored "
                                "(what it ran stays done)"]


def test_a_workload_not_undone_is_put_back_whole() -> None:
    before = obj("Deployment", "frontend", "2", api="apps/v1", spec={"replicas": 2})
    now = obj("Deployment", "frontend", "5", api="apps/v1", spec={"replicas": 3})
    out = differences(Snapshot((before,)), Snapshot((now,)), rendered(now))
    assert out.put_back == [written_back(before, keep_uid=True)] and not out.last_applied


def test_nothing_written_means_nothing_to_put_back() -> None:
    objects = (obj("ConfigMap", "cfg"), obj("Deployment", "b", api="apps/v1"))
    assert not differences(Snapshot(objects), Snapshot(objects), rendered(*objects))


def record(rid: str, action: str, outcome: str, has_release: bool = True) -> dict:
    return {"id": rid, "action": action, "outcome": outcome, "_name": rid,
            "release": {"objects": [obj("ConfigMap", "c")]} if has_release else None}


ENV = Environment(name="staging", overlay="o", namespace=NS, context=None, timeout=10,
                  confirm=False)


def test_a_rollback_goes_to_the_release_before_the_latest_promotion() -> None:
    records = [record("r4", "deploy", "rolled back", has_release=False),
               record("r3", "promote", "succeeded"), record("r2", "deploy", "failed", False),
               record("r1", "deploy", "succeeded")]
    assert choose(records, None, ENV)["id"] == "r1"
    assert choose(records, "r3", ENV)["id"] == "r3"
    assert choose(records[:2], None, ENV) is None
    with pytest.raises(ConfigError, match="not a release"):
        choose(records, "r2", ENV)
    with pytest.raises(ConfigError, match="no such record"):
        choose(records, "r9", ENV)


DIFF = """diff -u -N /tmp/LIVE-1/apps.v1.Deployment.ns.backend /tmp/MERGED-2/apps.v1.Deployment.ns.b
--- /tmp/LIVE-1/apps.v1.Deployment.ns.b	2026-01-01
+++ /tmp/MERGED-2/apps.v1.Deployment.ns.b	2026-01-01
@@ -4,9 +4,9 @@
   annotations:
     deployment.kubernetes.io/revision: "2"
-    kubectl.kubernetes.io/last-applied-configuration: |
-      {"apiVersion":"apps/v1","kind":"Deployment"}
+    kubectl.kubernetes.io/last-applied-configuration: |
+      {"apiVersion":"apps/v1","kind":"Deployment","x":1}
   creationTimestamp: "2026-01-01T00:00:00Z"
-  generation: 2
+  generation: 3
   name: backend
@@ -30,7 +30,7 @@
       containers:
-      - image: backend:1.4.0
+      - image: backend:1.5.0
         name: backend
diff -u -N /tmp/LIVE-1/v1.ConfigMap.ns.cfg /tmp/MERGED-2/v1.ConfigMap.ns.cfg
--- /tmp/LIVE-1/v1.ConfigMap.ns.cfg	2026-01-01
+++ /tmp/MERGED-2/v1.ConfigMap.ns.cfg	2026-01-01
@@ -3,7 +3,7 @@
   annotations:
-    kubectl.kubernetes.io/last-applied-configuration: |
-      {"a":"1"}
+    kubectl.kubernetes.io/last-applied-configuration: |
+      {"a":"2"}
   name: cfg
"""


def test_diff_noise_goes_and_real_changes_stay() -> None:
    out = diffnoise.without_noise(DIFF)
    assert "last-applied" not in out and "generation" not in out
    assert "+      - image: backend:1.5.0" in out and "-      - image: backend:1.4.0" in out
    assert "ConfigMap" not in out  # nothing else changed in it
    assert out.count("@@") == 2 and out.startswith("diff -u -N")
    assert diffnoise.without_noise("") == ""
