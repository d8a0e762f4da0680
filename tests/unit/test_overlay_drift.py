"""How live objects differ from the overlay: names and keys, never values."""

from __future__ import annotations

import base64
import json

from globepay_tasks import applyset
from globepay_tasks.overlay_drift import data_hashes, differences
from globepay_tasks.snapshot import Snapshot


def deployment(image: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "backend", "image": image, "env": [{"name": "MODE", "value": "a"}]}]}}}}


HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "backend"},
       "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "backend"}, "maxReplicas": 5}}


def test_a_secrets_string_data_hashes_as_the_data_the_server_stores() -> None:
    rendered = {"kind": "Secret", "stringData": {"token": "abc"}}
    stored = {"kind": "Secret", "data": {"token": base64.b64encode(b"abc").decode()}}
    assert data_hashes(rendered) == data_hashes(stored)
    assert "abc" not in json.dumps(data_hashes(rendered))


def test_images_and_autoscaled_replicas_are_not_drift_other_fields_are() -> None:
    live = deployment("backend@sha256:" + "1" * 64, 4)
    assert differences([deployment("backend:1.5.0", 2), HPA], Snapshot((live, HPA)),
                       "ns")["in_sync"]
    live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "b"
    found = differences([deployment("backend:1.5.0", 4)], Snapshot((live,)), "ns")
    assert found["objects"] == [{"object": "deployment/backend", "state": "differs",
                                 "fields": ["spec.template.spec.containers[backend].env[MODE]"
                                            ".value"]}]


def test_keys_added_by_hand_and_objects_no_longer_rendered_are_named() -> None:
    member = {"metadata": {"labels": {applyset.PART_OF: applyset.set_id("ns")}}}
    rendered = {"kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"A": "1"}}
    live = {**rendered, "data": {"A": "1", "B": "2"}}
    legacy = {"kind": "Service", "metadata": {"name": "legacy", **member["metadata"]}}
    found = differences([rendered], Snapshot((live, legacy)), "ns")
    assert found == {"compared": 1, "in_sync": False, "objects": [
        {"object": "configmap/app", "state": "differs", "fields": ["data.B"]},
        {"object": "service/legacy", "state": "not in the overlay", "fields": []}]}
