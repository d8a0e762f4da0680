"""Which objects a server-side apply can take, and which must go client-side because their new
configuration leaves out a field the last one set (`globepay_tasks.lastapplied`)."""

from __future__ import annotations

import copy

from globepay_tasks import lastapplied
from globepay_tasks.fielddiff import last_applied
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
    "spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "web:1", "args": ["--a"],
         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 80}],
         "volumeMounts": [{"name": "data", "mountPath": "/a"}]}]}}},
}


def _changed(edit) -> dict:
    obj = copy.deepcopy(DEPLOYMENT)
    edit(obj)
    return obj


def _container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def test_values_changing_in_place_drop_nothing():
    def edit(obj):
        _container(obj)["image"] = "web:2"
        _container(obj)["env"] = [{"name": "B", "value": "3"}, {"name": "A", "value": "1"},
                                  {"name": "C", "value": "4"}]
        obj["metadata"]["labels"]["tier"] = "front"
    assert not lastapplied.drops(DEPLOYMENT, _changed(edit))


def test_a_field_or_item_left_out_is_a_drop():
    edits = [
        lambda obj: obj["metadata"].pop("labels"),
        lambda obj: _container(obj).pop("args"),
        lambda obj: _container(obj)["env"].pop(1),
        # items of lists keyed by something else than their name, compared whole
        lambda obj: _container(obj)["volumeMounts"][0].update(mountPath="/b"),
        lambda obj: _container(obj)["ports"][0].update(containerPort=8080),
        lambda obj: _container(obj).update(args=["--b"]),
        lambda obj: _container(obj).update(name="other"),
    ]
    for edit in edits:
        assert lastapplied.drops(DEPLOYMENT, _changed(edit))


def test_objects_are_split_by_what_was_last_applied():
    live_web = lastapplied.annotated(DEPLOYMENT)
    cut = _changed(lambda obj: _container(obj)["env"].pop(0))
    new_config = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "new", "namespace": "ns"}, "data": {"A": "1"}}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}
    client, server = lastapplied.split([namespace, cut, new_config], [live_web], None)
    assert client == [namespace, cut]
    assert [obj["metadata"]["name"] for obj in server] == ["new"]
    sent = server[0]["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    assert last_applied(server[0]) == lastapplied.configuration(new_config)
    assert sent.endswith("\n") and '"annotations":{}' in sent
    same = _changed(lambda obj: _container(obj).update(image="web:9"))
    assert lastapplied.split([same], [live_web], [])[0] == []


def test_go_encoding():
    text = lastapplied.go_json({"b": 1.0, "a": "<x> & \u2028é", "c": 0.25, "d": [True, None]})
    assert text == '{"a":"\\u003cx\\u003e \\u0026 \\u2028é","b":1,"c":0.25,"d":[true,null]}\n'


def test_a_cluster_scoped_object_read_with_the_namespace_goes_server_side():
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "ns", "labels": {"team": "pay"}}}
    live = lastapplied.annotated(namespace)
    client, server = lastapplied.split([namespace], [], [live])
    assert (client, len(server)) == ([], 1)
    unlabelled = {**namespace, "metadata": {"name": "ns"}}
    assert lastapplied.split([unlabelled], [], [live])[0] == [unlabelled]
    assert lastapplied.split([namespace], [], [])[0] == []  # read: it does not exist yet
