"""Server-side defaulting of the sandbox and pod template comparison."""

from __future__ import annotations

import copy
import ipaddress
import re

import pytest

from globepay_tasks.sandbox.defaults import (
    apply_defaults,
    service_cluster_ip,
    template_hash,
    templates_equal,
)


def _deployment() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"labels": {"app": "web"}, "name": "web", "namespace": "shop"},
        "spec": {
            "progressDeadlineSeconds": 120,
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "env": [{"name": "MODE", "value": "prod"}],
                "image": "nginx:1.25",
                "name": "web",
                "ports": [{"containerPort": 80}],
            }]}},
        },
    }


# The pod template of that Deployment as an API server stores it (kubectl echoes it back
# verbatim in the JSON patch of `kubectl rollout undo`).
DEFAULTED_TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [{
            "name": "web", "image": "nginx:1.25",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "prod"}],
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "securityContext": {},
        "schedulerName": "default-scheduler",
    },
}


def test_deployment_defaults():
    result = apply_defaults(_deployment())
    spec = result["spec"]
    assert spec["template"] == DEFAULTED_TEMPLATE
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 120  # given values are kept
    assert spec["replicas"] == 2
    assert result["metadata"] == _deployment()["metadata"]


def test_deployment_minimal_and_partial_values():
    obj = _deployment()
    del obj["spec"]["replicas"], obj["spec"]["progressDeadlineSeconds"]
    obj["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": 1}}
    spec = apply_defaults(obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}
    obj["spec"]["strategy"] = {"type": "Recreate"}
    assert apply_defaults(obj)["spec"]["strategy"] == {"type": "Recreate"}
    obj["spec"]["replicas"] = 0
    assert apply_defaults(obj)["spec"]["replicas"] == 0


def test_null_members_are_dropped_like_typed_decoding_does():
    obj = _deployment()
    obj["spec"]["strategy"] = {"type": "Recreate", "rollingUpdate": None}
    obj["spec"]["template"]["metadata"]["creationTimestamp"] = None
    obj["metadata"]["annotations"] = None
    result = apply_defaults(obj)
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["template"]["metadata"] == {"labels": {"app": "web"}}
    assert "annotations" not in result["metadata"]


def test_apply_defaults_returns_a_copy():
    obj = _deployment()
    before = copy.deepcopy(obj)
    apply_defaults(obj)
    assert obj == before


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.local:5000/team/app", "Always"),
        ("registry.local:5000/team/app:2.0", "IfNotPresent"),
        ("registry.local:5000/team/app:latest", "Always"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:1.25@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy(image, policy):
    obj = {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": image}]}}
    assert apply_defaults(obj)["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_kept():
    obj = {"kind": "Pod", "spec": {
        "restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never",
                        "ports": [{"containerPort": 53, "protocol": "UDP"}]}]}}
    spec = apply_defaults(obj)["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["dnsPolicy"] == "Default"
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["ports"] == [{"containerPort": 53, "protocol": "UDP"}]


def test_pod_spec_details():
    obj = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "hostNetwork": True,
        "initContainers": [{"name": "init", "image": "busybox:1"}],
        "containers": [{
            "name": "c", "image": "app:1", "ports": [{"containerPort": 8080}],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "readinessProbe": {"httpGet": {"port": 8080}},
        }],
        "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "scratch"},
                    {"name": "sec", "secret": {"secretName": "s"}}],
    }}
    spec = apply_defaults(obj)["spec"]
    container = spec["containers"][0]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert container["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name",
                                                            "apiVersion": "v1"}
    assert container["readinessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert spec["initContainers"][0]["terminationMessagePolicy"] == "File"
    assert spec["volumes"] == [
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "sec", "secret": {"secretName": "s", "defaultMode": 420}},
    ]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default"
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready",
                                                       "node.kubernetes.io/unreachable"}


def test_statefulset_defaults():
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {
        "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}},
                     "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
    }}
    spec = apply_defaults(obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["apiVersion"] == "v1" and claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert apply_defaults(obj)["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_daemonset_defaults():
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}}
    spec = apply_defaults(obj)["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert "replicas" not in spec


def test_replicaset_defaults():
    obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc"},
           "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": copy.deepcopy(_deployment()["spec"]["template"])}}
    spec = apply_defaults(obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["template"] == DEFAULTED_TEMPLATE


def _job(**spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "migrate"}}, "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "m", "image": "migrate:3"}]}}, **spec}}


def test_job_defaults():
    result = apply_defaults(_job())
    spec = result["spec"]
    assert spec["backoffLimit"] == 6
    assert spec["completions"] == 1
    assert spec["parallelism"] == 1
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert "manualSelector" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert result["metadata"]["labels"] == {"app": "migrate"}
    assert "selector" not in spec  # no uid yet: nothing to select on


def test_job_parallelism_without_completions():
    spec = apply_defaults(_job(parallelism=3))["spec"]
    assert spec["parallelism"] == 3
    assert "completions" not in spec


def test_job_selector_generated_once_it_has_a_uid():
    obj = _job()
    obj["metadata"]["uid"] = "1f0c"
    result = apply_defaults(obj)
    assert result["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": "1f0c"}}
    labels = result["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/controller-uid"] == "1f0c"
    assert labels["job-name"] == "migrate"
    assert labels["app"] == "migrate"
    assert result["metadata"]["labels"] == {"app": "migrate"}
    manual = _job(manualSelector=True, selector={"matchLabels": {"app": "migrate"}})
    manual["metadata"]["uid"] = "1f0c"
    assert apply_defaults(manual)["spec"]["selector"] == {"matchLabels": {"app": "migrate"}}


def _service(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}


def test_service_defaults():
    result = apply_defaults(_service())
    spec = result["spec"]
    ip = spec["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
    assert spec == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "clusterIP": ip,
        "clusterIPs": [ip],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }
    assert result["status"] == {"loadBalancer": {}}


def test_service_cluster_ip_is_deterministic_and_per_service():
    assert apply_defaults(_service())["spec"]["clusterIP"] == service_cluster_ip("shop", "web")
    other = _service()
    other["metadata"]["name"] = "api"
    ips = {apply_defaults(_service())["spec"]["clusterIP"],
           apply_defaults(other)["spec"]["clusterIP"]}
    assert len(ips) == 2
    all_ips = {service_cluster_ip("ns", f"svc-{i}") for i in range(300)}
    assert len(all_ips) == 300
    assert all(not ip.startswith("10.96.0.") or int(ip.rsplit(".", 1)[1]) >= 16
               for ip in all_ips)


def test_service_keeps_given_cluster_ip_and_uses_an_allocator():
    assert apply_defaults(_service(clusterIP="10.96.5.5"))["spec"]["clusterIPs"] == ["10.96.5.5"]
    headless = apply_defaults(_service(clusterIP="None"))["spec"]
    assert headless["clusterIP"] == "None" and headless["clusterIPs"] == ["None"]
    allocated = apply_defaults(_service(), ip_allocator=lambda svc: "10.100.0.7")
    assert allocated["spec"]["clusterIP"] == "10.100.0.7"


def test_service_target_port_and_node_ports():
    spec = apply_defaults(_service(type="NodePort", ports=[
        {"name": "http", "port": 80, "targetPort": "http"}, {"port": 9090}]))["spec"]
    assert spec["ports"][0]["targetPort"] == "http"
    assert spec["ports"][1]["targetPort"] == 9090
    assert all(30000 <= p["nodePort"] <= 32767 for p in spec["ports"])
    assert spec["externalTrafficPolicy"] == "Cluster"
    external = apply_defaults(_service(type="ExternalName", externalName="db.example.com"))
    assert "clusterIP" not in external["spec"]
    affinity = apply_defaults(_service(sessionAffinity="ClientIP"))["spec"]
    assert affinity["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_namespace_defaults():
    result = apply_defaults({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": "shop",
                                          "labels": {"kubernetes.io/metadata.name": "x"}}})
    assert result["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop"}
    assert result["spec"] == {"finalizers": ["kubernetes"]}
    assert result["status"] == {"phase": "Active"}


def test_secret_hpa_pdb_and_untouched_kinds():
    assert apply_defaults({"kind": "Secret", "data": {}})["type"] == "Opaque"
    merged = apply_defaults({"kind": "Secret", "data": {"a": "YQ=="},
                             "stringData": {"b": "secret"}})
    assert merged["data"] == {"a": "YQ==", "b": "c2VjcmV0"} and "stringData" not in merged
    assert apply_defaults({"kind": "Secret", "type": "kubernetes.io/tls"})["type"] == \
        "kubernetes.io/tls"
    hpa = apply_defaults({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                          "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {
                              "stabilizationWindowSeconds": 60}}}})["spec"]
    assert hpa["minReplicas"] == 1
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization",
                                                       "averageUtilization": 80}
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60
    assert hpa["behavior"]["scaleDown"]["selectPolicy"] == "Max"
    assert hpa["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4,
                                                         "periodSeconds": 15}
    pdb = apply_defaults({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                          "spec": {"minAvailable": 1}})
    assert pdb["spec"] == {"minAvailable": 1}
    assert pdb["status"]["disruptionsAllowed"] == 0
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    assert apply_defaults(config_map) == config_map
    assert apply_defaults({"kind": "Widget", "spec": {}}) == {"kind": "Widget", "spec": {}}


IDEMPOTENCE_CASES = [
    _deployment(),
    _job(),
    _service(),
    _service(type="LoadBalancer"),
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
     "spec": {"containers": [{"name": "c", "image": "x", "livenessProbe": {"exec": {}}}],
              "volumes": [{"name": "v"}]}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {
        "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {}}]}},
    {"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {"template": {}}},
    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {}},
    {"apiVersion": "v1", "kind": "Secret"},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "spec": {"rules": []}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
     "spec": {"behavior": {}}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "spec": {}},
]


@pytest.mark.parametrize("obj", IDEMPOTENCE_CASES, ids=lambda o: o["kind"])
def test_defaults_are_idempotent(obj):
    once = apply_defaults(obj)
    assert apply_defaults(once) == once
    job_with_uid = copy.deepcopy(once)
    job_with_uid.setdefault("metadata", {})["uid"] = "u"
    twice = apply_defaults(job_with_uid)
    assert apply_defaults(twice) == twice


# --- pod templates ----------------------------------------------------------------------------


def test_templates_equal_ignores_pod_template_hash_and_null_creation_timestamp():
    stored = copy.deepcopy(DEFAULTED_TEMPLATE)
    stored["metadata"]["labels"]["pod-template-hash"] = "7d4b9c8f5"
    sent = copy.deepcopy(DEFAULTED_TEMPLATE)
    sent["metadata"]["creationTimestamp"] = None
    assert templates_equal(stored, sent)
    assert templates_equal(sent, stored)


def test_templates_equal_treats_empty_as_absent_and_applies_defaults():
    minimal = copy.deepcopy(_deployment()["spec"]["template"])
    assert templates_equal(minimal, DEFAULTED_TEMPLATE)
    with_empties = copy.deepcopy(minimal)
    with_empties["metadata"]["annotations"] = {}
    with_empties["spec"]["containers"][0]["args"] = []
    with_empties["spec"]["nodeSelector"] = None
    assert templates_equal(with_empties, minimal)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["spec"]["containers"][0].update(image="nginx:1.26"),
        lambda t: t["metadata"]["labels"].update(track="canary"),
        lambda t: t["metadata"].setdefault("annotations", {}).update(
            {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}),
        lambda t: t["spec"]["containers"][0]["env"].append({"name": "X", "value": "1"}),
        lambda t: t["spec"]["containers"][0].update(imagePullPolicy="Always"),
    ],
)
def test_templates_differ(change):
    changed = copy.deepcopy(DEFAULTED_TEMPLATE)
    change(changed)
    assert not templates_equal(changed, DEFAULTED_TEMPLATE)
    assert template_hash(changed) != template_hash(DEFAULTED_TEMPLATE)


def test_template_hash_is_stable_and_pod_label_shaped():
    value = template_hash(DEFAULTED_TEMPLATE)
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{1,10}", value)
    assert value == template_hash(copy.deepcopy(DEFAULTED_TEMPLATE))
    hashed = copy.deepcopy(DEFAULTED_TEMPLATE)
    hashed["metadata"]["labels"]["pod-template-hash"] = value
    hashed["metadata"]["creationTimestamp"] = None
    assert template_hash(hashed) == value
    assert template_hash(_deployment()["spec"]["template"]) == value
    assert template_hash(DEFAULTED_TEMPLATE, collision_count=1) != value
    assert template_hash(DEFAULTED_TEMPLATE) == value  # inputs not modified
