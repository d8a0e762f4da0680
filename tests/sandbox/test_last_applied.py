"""The last-applied annotation the tool writes for a server-side apply is the one client-side
``kubectl apply`` writes (`globepay_tasks.lastapplied`), byte for byte, with the real kubectl;
and a server-side apply with it keeps ``kubectl apply view-last-applied`` and a later
client-side apply working."""

from __future__ import annotations

import json

import yaml

from globepay_tasks import lastapplied
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
  annotations:
    note: "<b> & 'c' \u00e9 \u2028 \\t"
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: web
        image: registry.example/web:1.0
        args: ["--ratio", "0.5"]
        resources: {limits: {cpu: 0.5, memory: 64Mi}, requests: {cpu: 1.0}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain, namespace: default}
data: {A: "1", url: "https://x.example/?a=1&b=2"}
"""


def _annotation(kubectl, kind: str, name: str) -> str:
    got = kubectl("get", kind, name, "-o", "json")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]


def test_the_annotation_is_what_client_side_apply_writes(kubectl, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    done = kubectl("apply", "-f", str(path))
    assert done.returncode == 0, done.stderr
    for obj in yaml.safe_load_all(MANIFEST):
        written = _annotation(kubectl, obj["kind"], obj["metadata"]["name"])
        assert lastapplied.go_json(lastapplied.configuration(obj)) == written
        ours = lastapplied.annotated(obj)["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
        assert ours == written


def test_a_server_side_apply_with_it_keeps_the_client_side_tools_working(kubectl, tmp_path):
    first, changed = tmp_path / "first.yaml", tmp_path / "changed.json"
    first.write_text(MANIFEST)
    assert kubectl("apply", "-f", str(first)).returncode == 0
    objects = list(yaml.safe_load_all(MANIFEST))
    objects[1]["data"]["A"] = "2"
    sent = [lastapplied.annotated(obj) for obj in objects]
    changed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": sent}))
    done = kubectl("apply", "-f", str(changed), "--server-side",
                   "--field-manager=globepay-tasks", "--force-conflicts", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert [o["kind"] for o in json.loads(done.stdout)["items"]] == ["Deployment", "ConfigMap"]
    view = kubectl("apply", "view-last-applied", "configmap/plain", "-o", "json")
    assert json.loads(view.stdout)["data"] == {"A": "2", "url": "https://x.example/?a=1&b=2"}
    # a client-side apply dropping a key afterwards removes it, from the annotation it left
    objects[1]["data"].pop("url")
    changed.write_text(json.dumps(objects[1]))
    assert kubectl("apply", "-f", str(changed)).returncode == 0
    got = json.loads(kubectl("get", "configmap", "plain", "-o", "json").stdout)
    assert got["data"] == {"A": "2"}
