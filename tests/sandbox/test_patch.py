"""Patch semantics of the sandbox: strategic merge, JSON patch, merge patch, server-side apply.

The strategic merge patch bodies are the ones kubectl sends for ``kubectl apply`` (client-side)
when a manifest changes, applied to the live objects such a server holds.
"""

from __future__ import annotations

import copy
import json

import pytest

from globepay_tasks.sandbox.defaults import apply_defaults
from globepay_tasks.sandbox.patch import (
    PatchError,
    json_patch,
    merge_patch,
    server_side_apply,
    strategic_merge,
)


def _last_applied(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"


def _web_deployment(image: str = "nginx:1.25") -> dict:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"annotations": {}, "labels": {"app": "web"}, "name": "web",
                     "namespace": "shop"},
        "spec": {
            "progressDeadlineSeconds": 120,
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "env": [{"name": "MODE", "value": "prod"}],
                    "image": image,
                    "name": "web",
                    "ports": [{"containerPort": 80}],
                }]},
            },
        },
    }
    live = apply_defaults(copy.deepcopy(manifest))
    live["metadata"]["annotations"] = {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": _last_applied(manifest),
    }
    live["metadata"].update(uid="0b7e6f9c", resourceVersion="12", generation=1)
    live["status"] = {"observedGeneration": 1, "replicas": 2, "conditions": [
        {"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}
    return live


# --- strategic merge: bodies kubectl sends ----------------------------------------------------


def test_kubectl_image_change_updates_only_the_image():
    live = _web_deployment()
    body = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "NEW"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"image": "nginx:1.26", "name": "web"}],
        }}},
    }
    result = strategic_merge(live, body, "Deployment")
    container = result["spec"]["template"]["spec"]["containers"]
    assert len(container) == 1
    assert container[0]["image"] == "nginx:1.26"
    assert container[0]["env"] == [{"name": "MODE", "value": "prod"}]
    assert container[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container[0]["imagePullPolicy"] == "IfNotPresent"
    assert result["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "NEW",
    }
    assert result["status"] == live["status"]
    # nothing else changed, and no directive leaked into the object
    result["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25"
    result["metadata"]["annotations"] = live["metadata"]["annotations"]
    assert result == live


def test_does_not_modify_its_arguments():
    live = _web_deployment()
    body = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"image": "nginx:1.26", "name": "web"}],
    }}}}
    live_before, body_before = copy.deepcopy(live), copy.deepcopy(body)
    strategic_merge(live, body, "Deployment")
    assert live == live_before
    assert body == body_before


def _rich_deployment() -> dict:
    live = apply_defaults({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "fe"}},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "volumes": [{"name": "cfg", "configMap": {"name": "web-cfg"}},
                                {"name": "tmp", "emptyDir": {}}],
                    "containers": [
                        {"name": "web", "image": "nginx:1.25",
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "ports": [{"containerPort": 80, "name": "http"},
                                   {"containerPort": 9090, "name": "metrics"}],
                         "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"},
                                          {"name": "tmp", "mountPath": "/tmp"}]},
                        {"name": "side", "image": "busybox:1.36", "args": ["sleep", "1d"]},
                    ],
                },
            },
        },
    })
    return live


# kubectl apply of a manifest that reorders and removes containers, env vars, ports, mounts,
# switches a volume's source, adds an init container and switches the strategy to Recreate.
RICH_BODY = {
    "metadata": {"labels": {"tier": None}},
    "spec": {
        "replicas": 3,
        "strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"},
        "template": {"spec": {
            "$setElementOrder/containers": [{"name": "log"}, {"name": "web"}],
            "$setElementOrder/volumes": [{"name": "cfg"}],
            "containers": [
                {"image": "fluentbit:2", "name": "log"},
                {"$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                 "$setElementOrder/ports": [{"containerPort": 80}],
                 "$setElementOrder/volumeMounts": [{"mountPath": "/etc/cfg"}],
                 "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                 "image": "nginx:1.26", "name": "web",
                 "ports": [{"$patch": "delete", "containerPort": 9090}],
                 "volumeMounts": [{"$patch": "delete", "mountPath": "/tmp"}]},
                {"$patch": "delete", "name": "side"},
            ],
            "initContainers": [{"image": "busybox:1.36", "name": "init"}],
            "volumes": [
                {"$retainKeys": ["name", "secret"], "configMap": None, "name": "cfg",
                 "secret": {"secretName": "web-sec"}},
                {"$patch": "delete", "name": "tmp"},
            ],
        }},
    },
}


def test_kubectl_apply_body_with_deletes_reorders_and_retain_keys():
    result = strategic_merge(_rich_deployment(), RICH_BODY, "Deployment")
    assert result["metadata"]["labels"] == {"app": "web"}
    spec = result["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["log", "web"]
    assert pod["containers"][0] == {"image": "fluentbit:2", "name": "log"}
    web = pod["containers"][1]
    assert web["image"] == "nginx:1.26"
    assert web["env"] == [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}]
    assert web["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert web["volumeMounts"] == [{"name": "cfg", "mountPath": "/etc/cfg"}]
    assert web["terminationMessagePath"] == "/dev/termination-log"  # untouched live field
    assert pod["initContainers"] == [{"image": "busybox:1.36", "name": "init"}]
    assert pod["volumes"] == [{"name": "cfg", "secret": {"secretName": "web-sec"}}]
    assert "$patch" not in json.dumps(result)
    assert "$setElementOrder" not in json.dumps(result)


def test_kubectl_service_ports_merge_by_port():
    live = apply_defaults({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                           {"name": "metrics", "port": 9090}]},
    })
    body = {"spec": {
        "$setElementOrder/ports": [{"port": 9091}, {"port": 80}],
        "ports": [{"name": "metrics", "port": 9091}, {"port": 80, "targetPort": "http"},
                  {"$patch": "delete", "port": 9090}],
        "selector": {"tier": "fe"},
    }}
    result = strategic_merge(live, body, "Service")
    assert result["spec"]["ports"] == [
        {"name": "metrics", "port": 9091},
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
    ]
    assert result["spec"]["selector"] == {"app": "web", "tier": "fe"}
    assert result["spec"]["clusterIP"] == live["spec"]["clusterIP"]


def test_kubectl_primitive_list_directives_and_null_map_value():
    live = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k1": "v1", "k2": "v2"},
            "metadata": {"name": "cfg", "finalizers": ["a.io/x", "b.io/y"]}}
    body = {"data": {"k1": "v1b", "k2": None}, "metadata": {
        "$deleteFromPrimitiveList/finalizers": ["b.io/y"],
        "$setElementOrder/finalizers": ["c.io/z", "a.io/x"],
        "finalizers": ["c.io/z"],
    }}
    result = strategic_merge(live, body, "ConfigMap")
    assert result["data"] == {"k1": "v1b"}
    assert result["metadata"]["finalizers"] == ["c.io/z", "a.io/x"]


def test_kubectl_set_env_and_rollout_restart_bodies():
    live = _rich_deployment()
    set_env = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
        "containers": [{"$setElementOrder/env": [{"name": "A"}, {"name": "D"}],
                        "env": [{"name": "D", "value": "4"}, {"$patch": "delete", "name": "B"}],
                        "name": "web"}]}}}}
    restart = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-11-26T23:53:18Z"}}}}}
    result = strategic_merge(strategic_merge(live, set_env, "Deployment"), restart, "Deployment")
    template = result["spec"]["template"]
    assert template["metadata"] == {"labels": {"app": "web"}, "annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-11-26T23:53:18Z"}}
    containers = template["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "side"]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "D", "value": "4"}]
    assert containers[0]["ports"] == live["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert containers[1] == live["spec"]["template"]["spec"]["containers"][1]


def test_server_only_list_items_are_kept_in_live_position():
    live = {"kind": "Pod", "spec": {"containers": [
        {"name": "a", "image": "a:1"}, {"name": "proxy", "image": "envoy"},
        {"name": "b", "image": "b:1"}]}}
    body = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                     "containers": [{"name": "a", "image": "a:2"}]}}
    result = strategic_merge(live, body, "Pod")
    assert result["spec"]["containers"] == [
        {"name": "proxy", "image": "envoy"}, {"name": "b", "image": "b:1"},
        {"name": "a", "image": "a:2"}]


def test_merge_list_without_order_directive_appends_new_items():
    live = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]}}}}
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "Z", "value": "9"}, {"name": "A", "value": "2"}]}]}}}}
    result = strategic_merge(live, body, "Deployment")
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx",
         "env": [{"name": "Z", "value": "9"}, {"name": "A", "value": "2"}]}]


def test_statefulset_undo_data_replaces_the_template():
    live = {"kind": "StatefulSet", "spec": {"replicas": 3, "template": {
        "metadata": {"labels": {"app": "db"}, "annotations": {"x": "1"}},
        "spec": {"containers": [{"name": "db", "image": "pg:16"},
                                {"name": "exporter", "image": "exp:1"}]}}}}
    revision_data = {"spec": {"template": {
        "$patch": "replace",
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "pg:15"}]}}}}
    result = strategic_merge(live, revision_data, "StatefulSet")
    assert result["spec"] == {"replicas": 3, "template": {
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "pg:15"}]}}}


def test_patch_replace_element_replaces_a_merge_list():
    live = {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "a"},
                                                   {"name": "b", "image": "b"}]}}
    body = {"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c"}]}}
    result = strategic_merge(live, body, "Pod")
    assert result["spec"]["containers"] == [{"name": "c", "image": "c"}]


def test_patch_delete_on_a_map_empties_it():
    live = {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}, "replicas": 1}}
    result = strategic_merge(live, {"spec": {"strategy": {"$patch": "delete"}}}, "Deployment")
    assert result["spec"] == {"strategy": {}, "replicas": 1}


def test_null_deletes_a_key_and_ignores_absent_ones():
    live = {"kind": "ConfigMap", "metadata": {"labels": {"a": "1", "b": "2"}}}
    result = strategic_merge(live, {"metadata": {"labels": {"a": None, "zz": None}}},
                             "ConfigMap")
    assert result["metadata"]["labels"] == {"b": "2"}


def test_lists_without_merge_strategy_are_replaced():
    live = {"kind": "Deployment", "spec": {"template": {"spec": {
        "tolerations": [{"key": "a", "operator": "Exists"}],
        "containers": [{"name": "web", "args": ["a", "b"], "image": "x"}]}}}}
    body = {"spec": {"template": {"spec": {
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "containers": [{"name": "web", "args": ["c"]}]}}}}
    result = strategic_merge(live, body, "Deployment")["spec"]["template"]["spec"]
    assert result["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert result["containers"] == [{"name": "web", "args": ["c"], "image": "x"}]


def test_merge_keys_of_other_fields():
    live = {"kind": "Pod",
            "metadata": {"ownerReferences": [{"uid": "u1", "name": "rs-a"}]},
            "spec": {"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
                     "imagePullSecrets": [{"name": "reg"}],
                     "containers": [{"name": "c", "volumeMounts": [
                         {"mountPath": "/a", "name": "v1"}]}]},
            "status": {"conditions": [{"type": "Ready", "status": "False"},
                                      {"type": "Initialized", "status": "True"}]}}
    body = {"metadata": {"ownerReferences": [{"uid": "u2", "name": "rs-b"}]},
            "spec": {"hostAliases": [{"ip": "10.0.0.2", "hostnames": ["b"]}],
                     "imagePullSecrets": [{"name": "reg2"}],
                     "containers": [{"name": "c", "volumeMounts": [
                         {"mountPath": "/a", "name": "v2"}]}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    result = strategic_merge(live, body, "Pod")
    # new items without a $setElementOrder go before the server-only ones, as on a real server
    assert [o["uid"] for o in result["metadata"]["ownerReferences"]] == ["u2", "u1"]
    assert [h["ip"] for h in result["spec"]["hostAliases"]] == ["10.0.0.2", "10.0.0.1"]
    assert result["spec"]["imagePullSecrets"] == [{"name": "reg2"}, {"name": "reg"}]
    assert result["spec"]["containers"][0]["volumeMounts"] == [{"mountPath": "/a", "name": "v2"}]
    assert result["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                              {"type": "Initialized", "status": "True"}]


#: What kubectl apply sends when a CronJob's image changes (its pod template is two levels down).
CRONJOB_IMAGE_BODY = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
    "$setElementOrder/containers": [{"name": "report"}],
    "containers": [{"image": "backend:1.5.2", "name": "report"}]}}}}}}


@pytest.mark.parametrize("api_version", ["batch/v1", None], ids=["schemas", "tables"])
def test_kubectl_image_change_of_a_cronjob_merges_its_containers_by_name(api_version):
    live = {"kind": "CronJob", "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {
        "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "report", "image": "backend:1.5.1", "command": ["sh", "-c", "echo"]},
            {"name": "sidecar", "image": "proxy:1"}]}}}}}}
    result = strategic_merge(live, CRONJOB_IMAGE_BODY, "CronJob", api_version)
    pod = result["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"] == [
        {"name": "report", "image": "backend:1.5.2", "command": ["sh", "-c", "echo"]},
        {"name": "sidecar", "image": "proxy:1"}]
    assert pod["restartPolicy"] == "Never"
    assert result["spec"]["schedule"] == "0 3 * * *"


@pytest.mark.parametrize("api_version", ["policy/v1", None], ids=["schemas", "tables"])
def test_a_disruption_budget_selector_is_replaced_whole(api_version):
    """PodDisruptionBudgetSpec.selector has patchStrategy replace: kubectl apply sends it whole
    (and on every apply), and the server replaces the live selector with it."""
    live = {"kind": "PodDisruptionBudget", "spec": {"minAvailable": 1, "selector": {
        "matchLabels": {"app": "backend", "tier": "api"}}}}
    body = {"spec": {"selector": {"matchLabels": {"app": "backend"}}}}
    result = strategic_merge(live, body, "PodDisruptionBudget", api_version)
    assert result["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "backend"}}}


def test_the_schemas_give_the_patch_metadata_of_every_kind():
    """With the Kubernetes schemas (a test dependency), a kind the tables do not list merges
    its lists by the schema's merge keys; atomic lists (an Ingress's rules) are replaced."""
    live = {"apiVersion": "v1", "kind": "ReplicationController", "spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]}}}}
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "B", "value": "2"}]}]}}}}
    result = strategic_merge(live, body, "ReplicationController")
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "x:1",
        "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "spec": {"rules": [
        {"host": "a.test"}, {"host": "b.test"}]}}
    result = strategic_merge(ingress, {"spec": {"rules": [{"host": "c.test"}]}}, "Ingress")
    assert result["spec"]["rules"] == [{"host": "c.test"}]


def test_unknown_kind_only_knows_metadata():
    live = {"kind": "Widget", "spec": {"containers": [{"name": "a", "image": "1"}]},
            "metadata": {"finalizers": ["x"]}}
    body = {"spec": {"containers": [{"name": "b"}]}, "metadata": {"finalizers": ["y"]}}
    result = strategic_merge(live, body, "Widget")
    assert result["spec"]["containers"] == [{"name": "b"}]
    assert result["metadata"]["finalizers"] == ["y", "x"]


def test_new_field_with_directives_gets_them_resolved():
    live = {"kind": "Deployment", "spec": {}}
    body = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "a", "image": "x"}]}}}}
    result = strategic_merge(live, body, "Deployment")
    assert result["spec"]["template"] == {"spec": {"containers": [{"name": "a", "image": "x"}]}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"spec": {"$patch": "explode"}}, "Unknown patch type"),
        ({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}, "merge key"),
        ({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}, "merge key"),
        ({"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "a"}]}}}},
         "merging lists"),
        ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, "$retainKeys"),
        ({"spec": {"strategy": {"$retainKeys": "type"}}}, "$retainKeys"),
        ({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                                         "containers": [{"name": "b", "image": "x"}]}}}},
         "$setElementOrder"),
        ({"metadata": {"$deleteFromPrimitiveList/finalizers": "x"}}, "must be a list"),
        ({"spec": {"$frobnicate": ["x"]}}, "unknown strategic merge patch directive"),
        ({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]}}}},
         "doesn't match"),
    ],
)
def test_malformed_strategic_patches_raise(body, message):
    live = {"kind": "Deployment", "metadata": {"finalizers": ["x"]},
            "spec": {"strategy": {"type": "RollingUpdate"},
                     "template": {"spec": {"containers": [{"name": "a", "image": "y"}]}}}}
    with pytest.raises(PatchError, match=message.replace("$", r"\$")):
        strategic_merge(live, body, "Deployment")


def test_strategic_patch_must_be_an_object():
    with pytest.raises(PatchError):
        strategic_merge({"kind": "Pod"}, [{"op": "add"}], "Pod")  # type: ignore[arg-type]


# --- JSON patch ---------------------------------------------------------------------------------


def test_kubectl_rollout_undo_json_patch():
    live = _web_deployment("nginx:1.26")
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
    old_template = _web_deployment("nginx:1.25")["spec"]["template"]
    annotations = {"deployment.kubernetes.io/revision": "2",
                   "kubectl.kubernetes.io/last-applied-configuration": "LAST"}
    body = [{"op": "replace", "path": "/spec/template", "value": old_template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
    result = json_patch(live, body)
    assert result["spec"]["template"] == old_template
    assert result["metadata"]["annotations"] == annotations
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_json_patch_operations():
    doc = {"metadata": {"annotations": {"a/b": "1", "t~x": "2"}}, "list": [1, 2, 3]}
    result = json_patch(doc, [
        {"op": "add", "path": "/list/-", "value": 4},
        {"op": "add", "path": "/list/0", "value": 0},
        {"op": "remove", "path": "/list/2"},
        {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "one"},
        {"op": "move", "from": "/metadata/annotations/t~0x", "path": "/moved"},
        {"op": "copy", "from": "/list", "path": "/copied"},
        {"op": "test", "path": "/list", "value": [0, 1, 3, 4]},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
        {"op": "test", "path": "/moved", "value": "2"},
    ])
    assert result == {
        "metadata": {"annotations": {"a/b": "one"}, "labels": {"x": "y"}},
        "list": [0, 1, 3, 4],
        "moved": "2",
        "copied": [0, 1, 3, 4],
    }
    result["copied"].append(5)
    assert result["list"] == [0, 1, 3, 4]


def test_json_patch_empty_list_is_a_no_op():
    assert json_patch({"a": 1}, []) == {"a": 1}


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ([{"op": "replace", "path": "/spec/replicas", "value": 2}], "missing"),
        ([{"op": "add", "path": "/spec/x/y", "value": 2}], "missing path"),
        ([{"op": "remove", "path": "/metadata/nope"}], "nonexistent"),
        ([{"op": "remove", "path": "/list/3"}], "out of bounds"),
        ([{"op": "add", "path": "/list/4", "value": 1}], "out of bounds"),
        ([{"op": "replace", "path": "/list/01", "value": 1}], "invalid array index"),
        ([{"op": "replace", "path": "/list/-", "value": 1}], "invalid array index"),
        ([{"op": "test", "path": "/list/0", "value": 2}], "test failed"),
        ([{"op": "test", "path": "/flag", "value": 1}], "test failed"),
        ([{"op": "test", "path": "/count", "value": True}], "test failed"),
        ([{"op": "add", "path": "/x"}], "missing value"),
        ([{"op": "move", "path": "/x"}], "missing from"),
        ([{"op": "move", "from": "/metadata", "path": "/metadata/inner"}], "own child"),
        ([{"op": "frobnicate", "path": "/x"}], "Unexpected kind"),
        ([{"path": "/x"}], "invalid JSON patch operation"),
        ([{"op": "add", "value": 1}], "missing path"),
        ([{"op": "add", "path": "x", "value": 1}], "does not start with"),
        ([{"op": "replace", "path": "", "value": [1]}], "not a JSON object"),
        ([{"op": "remove", "path": ""}], "whole document"),
    ],
)
def test_json_patch_errors(operations, message):
    doc = {"metadata": {"name": "x"}, "list": [1, 2, 3], "flag": True, "count": 1}
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError, match=message):
        json_patch(doc, operations)
    assert doc == before


def test_json_patch_must_be_a_list():
    with pytest.raises(PatchError, match="array"):
        json_patch({}, {"op": "add"})  # type: ignore[arg-type]


def test_json_patch_failure_later_in_the_list_changes_nothing():
    doc = {"a": 1}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/a", "value": 2},
                         {"op": "test", "path": "/a", "value": 1}])
    assert doc == {"a": 1}


# --- JSON merge patch (RFC 7386 appendix A) --------------------------------------------------


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": {"b": 1}}, {"a": {}}, {"a": {"b": 1}}),
    ],
)
def test_merge_patch_rfc7386(original, patch, expected):
    before = copy.deepcopy(original)
    assert merge_patch(original, patch) == expected
    assert original == before


def test_merge_patch_replaces_lists_of_containers():
    live = _web_deployment()
    result = merge_patch(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:2"}]}}}})
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:2"}]
    assert result["spec"]["replicas"] == 2


def test_merge_patch_must_be_an_object():
    with pytest.raises(PatchError):
        merge_patch({}, [1])  # type: ignore[arg-type]


# --- server-side apply ----------------------------------------------------------------------


APPLIED_WEB = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"labels": {"app": "web"}, "name": "web", "namespace": "shop"},
    "spec": {"progressDeadlineSeconds": 120, "replicas": 2,
             "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                 {"env": [{"name": "MODE", "value": "prod"}], "image": "nginx:1.26",
                  "name": "web", "ports": [{"containerPort": 80}]}]}}},
}


def test_server_side_apply_creates_from_the_applied_config():
    assert server_side_apply(None, APPLIED_WEB, "Deployment") == APPLIED_WEB


def test_server_side_apply_merges_over_live_object():
    live = _web_deployment()
    result = server_side_apply(live, APPLIED_WEB, "Deployment")
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.26"
    assert container["terminationMessagePolicy"] == "File"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert result["status"] == live["status"]
    assert result["metadata"]["uid"] == live["metadata"]["uid"]
    assert result["metadata"]["annotations"] == live["metadata"]["annotations"]


def test_server_side_apply_of_last_applied_annotation_keeps_the_spec():
    live = server_side_apply(_web_deployment(), APPLIED_WEB, "Deployment")
    second = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "X"},
        "name": "web", "namespace": "shop"}}
    result = server_side_apply(live, second, "Deployment")
    assert result["spec"] == live["spec"]
    assert result["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] \
        == "X"


def test_server_side_apply_keeps_fields_dropped_from_config_without_history():
    live = {"kind": "ConfigMap", "data": {"a": "1", "b": "2"}}
    result = server_side_apply(live, {"kind": "ConfigMap", "data": {"a": "3", "c": None}},
                               "ConfigMap")
    assert result["data"] == {"a": "3", "b": "2"}


def test_server_side_apply_removes_what_the_manager_stopped_applying():
    previous = copy.deepcopy(APPLIED_WEB)
    previous["metadata"]["labels"]["tier"] = "fe"
    previous["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "DEBUG", "value": "1"})
    previous["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "bb"})
    live = server_side_apply(_web_deployment(), previous, "Deployment")
    live["metadata"]["labels"]["owner"] = "someone-else"
    result = server_side_apply(live, APPLIED_WEB, "Deployment", last_applied=previous)
    assert result["metadata"]["labels"] == {"app": "web", "owner": "someone-else"}
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web"]
    assert containers[0]["env"] == [{"name": "MODE", "value": "prod"}]
    assert containers[0]["terminationMessagePath"] == "/dev/termination-log"


def test_server_side_apply_rejects_non_objects():
    with pytest.raises(PatchError):
        server_side_apply({}, "kind: Pod", "Pod")  # type: ignore[arg-type]
