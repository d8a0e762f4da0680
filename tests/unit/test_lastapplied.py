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
    client, server, kept = lastapplied.split([namespace, cut, new_config], [live_web], None)
    assert (client, kept) == ([namespace, cut], [])
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
    relabelled = {**namespace, "metadata": {"name": "ns", "labels": {"team": "ops"}}}
    client, server, kept = lastapplied.split([relabelled], [], [live])
    assert (client, len(server), kept) == ([], 1, [])
    unlabelled = {**namespace, "metadata": {"name": "ns"}}
    assert lastapplied.split([unlabelled], [], [live]).client == [unlabelled]
    assert lastapplied.split([namespace], [], []).client == []  # read: it does not exist yet
    assert lastapplied.split([namespace], [], None).client == [namespace]  # not read


def _as_stored(obj: dict) -> dict:
    """``obj`` as the server stores it after an apply: its annotation, and defaults and
    fields of its own beside what was applied."""
    stored = copy.deepcopy(lastapplied.annotated(obj))
    stored["metadata"].update(resourceVersion="7", uid="u-1")
    _container(stored).update(imagePullPolicy="IfNotPresent", resources={})
    _container(stored)["ports"][0]["protocol"] = "TCP"
    stored["spec"].update(replicas=1, revisionHistoryLimit=10)
    stored["status"] = {"replicas": 1}
    return stored


def test_an_object_the_server_holds_already_is_kept_not_sent():
    live = _as_stored(DEPLOYMENT)
    assert lastapplied.split([DEPLOYMENT], [live], []) == ([], [], [live])
    assert lastapplied.holds(live, lastapplied.annotated(DEPLOYMENT))


def test_an_object_differing_from_the_server_in_any_field_is_sent():
    live = _as_stored(DEPLOYMENT)
    edits = [
        lambda obj: _container(obj).update(image="web:2"),
        lambda obj: _container(obj)["env"].append({"name": "C", "value": "3"}),
        lambda obj: _container(obj)["ports"][0].update(containerPort=8080),
        lambda obj: obj["spec"].update(replicas=2),
        lambda obj: obj["metadata"]["labels"].update(tier="front"),
    ]
    for edit in edits:
        assert lastapplied.split([_changed(edit)], [live], []).kept == []
    # changed on the server (an edit by hand) with the same annotation: sent to restore it
    edited = copy.deepcopy(live)
    _container(edited)["image"] = "web:hotfix"
    assert lastapplied.split([DEPLOYMENT], [edited], []).server == [
        lastapplied.annotated(DEPLOYMENT)]
    # the same fields, but last applied by something else (no annotation, another one)
    for found in ({}, {LAST_APPLIED_ANNOTATION: "{}\n"}):
        other = copy.deepcopy(live)
        other["metadata"]["annotations"] = found
        assert lastapplied.split([DEPLOYMENT], [other], []).kept == []


def test_held_values_compare_by_type_and_lists_by_length():
    assert lastapplied.holds({"a": [1, 2], "b": "x"}, {"a": [1, 2]})
    assert not lastapplied.holds({"a": [1, 2, 3]}, {"a": [1, 2]})
    assert not lastapplied.holds({"a": 1}, {"a": True})
    assert not lastapplied.holds({"a": "1"}, {"a": 1})
    assert not lastapplied.holds({"cpu": "500m"}, {"cpu": "0.5"})  # the server's form differs
    assert not lastapplied.holds({}, {"a": None})


def test_a_secret_written_with_string_data_is_held_by_its_data():
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "token", "namespace": "ns"},
              "data": {"A": "YQ==", "B": "Yg=="}, "stringData": {"B": "é", "C": "c"}}
    live = lastapplied.annotated(secret)  # as the server keeps it: stringData in data
    del live["stringData"]
    live["data"] = {"A": "YQ==", "B": "w6k=", "C": "Yw=="}
    assert lastapplied.split([secret], [live], []).kept == [live]
    live["data"]["C"] = "ZA=="  # changed since
    assert lastapplied.split([secret], [live], []).kept == []
