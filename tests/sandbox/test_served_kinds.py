"""Real kubectl (every available version) on the plain-storage kinds the sandbox serves since
its table comes from lightkube-models: apply, list, watch, delete; and api-resources."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox

NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"

# kind id -> (manifest, resource argument for kubectl, namespaced)
MANIFESTS: dict[str, tuple[str, str, bool]] = {
    "CronJob": ("""apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: backup, image: busybox:1.36, command: [sh, -c, echo backup]}
""", "cronjobs", True),
    "IngressClass": ("""apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
""", "ingressclasses", False),
    "NetworkPolicy": ("""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
""", "networkpolicies", True),
    "PersistentVolumeClaim": ("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""", "persistentvolumeclaims", True),
    "PersistentVolume": ("""apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-data}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}
""", "persistentvolumes", False),
    "Role": ("""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
""", "roles", True),
    "RoleBinding": ("""apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
""", "rolebindings", True),
    "ClusterRole": ("""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: global-reader}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [get]}]
""", "clusterroles", False),
    "ClusterRoleBinding": ("""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: global-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: global-reader}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
""", "clusterrolebindings", False),
    "PriorityClass": ("""apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
description: promotions first
""", "priorityclasses", False),
    "StorageClass": ("""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
""", "storageclasses", False),
    "ResourceQuota": ("""apiVersion: v1
kind: ResourceQuota
metadata: {name: quota, namespace: shop}
spec: {hard: {pods: "10"}}
""", "resourcequotas", True),
    "LimitRange": ("""apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: shop}
spec: {limits: [{type: Container, default: {cpu: 500m}}]}
""", "limitranges", True),
    "EndpointSlice": ("""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: http, port: 80, protocol: TCP}]
""", "endpointslices", True),
    "HorizontalPodAutoscaler-v1": ("""apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  targetCPUUtilizationPercentage: 80
""", "horizontalpodautoscalers.v1.autoscaling", True),
    "HorizontalPodAutoscaler-v2": ("""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
""", "horizontalpodautoscalers.v2.autoscaling", True),
}


def _watch(sandbox: Sandbox, binary: str, resource: str,
           namespaced: bool) -> subprocess.Popen[str]:
    """``kubectl get RESOURCE --watch -o name`` in the background."""
    env = {**os.environ, "KUBECACHEDIR": str(Path(sandbox.kubeconfig).parent / "kubecache")}
    env.pop("KUBECONFIG", None)
    scope = ["-n", "shop"] if namespaced else []
    command = [binary, "--kubeconfig", str(sandbox.kubeconfig), "--context",
               sandbox.context("dev"), "get", resource, *scope, "--watch",
               "-o", "name", "--request-timeout=20s"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.mark.parametrize("kind", sorted(MANIFESTS))
def test_apply_list_watch_delete(sandbox: Sandbox, kubectl, kind: str) -> None:
    manifest, resource, namespaced = MANIFESTS[kind]
    sent = yaml.safe_load(manifest)
    name = sent["metadata"]["name"]
    assert kubectl("apply", "-f", "-", input=NS).returncode == 0
    created = kubectl("apply", "-f", "-", input=manifest)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().endswith(f"/{name} created")
    again = kubectl("apply", "-f", "-", input=manifest)
    assert again.returncode == 0 and again.stdout.strip().endswith(" unchanged"), again.stderr

    scope = ["-n", "shop"] if namespaced else []
    listed = kubectl("get", resource, *scope, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == [name]
    stored = items[0]
    assert stored["apiVersion"] == sent["apiVersion"] and stored["kind"] == sent["kind"]
    assert ("namespace" in stored["metadata"]) is namespaced
    for field, value in sent.items():
        if field not in ("apiVersion", "kind", "metadata"):
            assert stored[field] == value  # plain storage: as given

    watcher = _watch(sandbox, kubectl.binary, resource, namespaced)
    try:
        deadline = time.monotonic() + 15
        shown = f"{_prefix(stored)}/{name}"
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == shown  # listed (or ADDED)
        deleted = kubectl("delete", resource, name, *scope)
        assert deleted.returncode == 0, deleted.stderr
        assert watcher.stdout.readline().strip() == shown  # DELETED, from the watch
        assert time.monotonic() < deadline
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    gone = kubectl("get", resource, name, *scope)
    assert gone.returncode == 1 and "NotFound" in gone.stderr


def _prefix(obj: dict) -> str:
    """``-o name``'s ``kind.group`` of an object (``cronjob.batch``, ``persistentvolume``)."""
    group = obj["apiVersion"].rpartition("/")[0]
    return obj["kind"].lower() + (f".{group}" if group else "")


def test_cluster_scoped_objects_ignore_the_namespace(sandbox: Sandbox, kubectl) -> None:
    manifest = MANIFESTS["ClusterRole"][0].replace("{name: global-reader}",
                                                   "{name: global-reader, namespace: default}")
    created = kubectl("apply", "-f", "-", input=manifest)
    assert created.returncode == 0, created.stderr
    stored = sandbox.get("dev", "rbac.authorization.k8s.io/v1", "ClusterRole", None,
                         "global-reader")
    assert stored is not None and "namespace" not in stored["metadata"]
    from_ns = kubectl("get", "clusterrole", "global-reader", "-n", "kube-system", "-o", "name")
    assert from_ns.stdout.strip() == "clusterrole.rbac.authorization.k8s.io/global-reader"


#: resource -> (NAMESPACED, SHORTNAMES) as ``kubectl api-resources`` shows them
API_RESOURCES = {
    "cronjobs": ("true", "cj"), "ingressclasses": ("false", ""),
    "networkpolicies": ("true", "netpol"), "persistentvolumeclaims": ("true", "pvc"),
    "persistentvolumes": ("false", "pv"), "roles": ("true", ""), "rolebindings": ("true", ""),
    "clusterroles": ("false", ""), "clusterrolebindings": ("false", ""),
    "priorityclasses": ("false", "pc"), "storageclasses": ("false", "sc"),
    "resourcequotas": ("true", "quota"), "limitranges": ("true", "limits"),
    "endpointslices": ("true", ""), "horizontalpodautoscalers": ("true", "hpa"),
    "configmaps": ("true", "cm"), "namespaces": ("false", "ns"), "pods": ("true", "po"),
    "services": ("true", "svc"), "serviceaccounts": ("true", "sa"),
    "deployments": ("true", "deploy"), "daemonsets": ("true", "ds"),
    "statefulsets": ("true", "sts"), "replicasets": ("true", "rs"),
    "poddisruptionbudgets": ("true", "pdb"), "ingresses": ("true", "ing"),
    "replicationcontrollers": ("true", "rc"), "nodes": ("false", "no"),
    "endpoints": ("true", "ep"), "customresourcedefinitions": ("false", "crd,crds"),
    "certificatesigningrequests": ("false", "csr"), "jobs": ("true", ""),
}


def test_api_resources_lists_kinds_with_scope_and_short_names(sandbox: Sandbox,
                                                              kubectl) -> None:
    result = kubectl("api-resources")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0]
    columns = [header.index(c) for c in ("SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")]
    rows: dict[str, tuple[str, str, str]] = {}
    for line in lines[1:]:
        name = line[:columns[0]].strip()
        short = line[columns[0]:columns[1]].strip()
        api_version = line[columns[1]:columns[2]].strip()
        namespaced = line[columns[2]:columns[3]].strip()
        rows.setdefault(name, (namespaced, short, api_version))
    for name, (namespaced, short) in API_RESOURCES.items():
        assert rows[name][:2] == (namespaced, short), name
    assert rows["horizontalpodautoscalers"][2] == "autoscaling/v2"  # the preferred version
    assert len(lines) - 1 == 71  # 72 stable kinds; api-resources shows autoscaling/v2 only


@pytest.mark.parametrize("short", ["cj", "netpol", "pvc", "pv", "pc", "sc", "quota", "limits",
                                   "hpa"])
def test_short_names_resolve(sandbox: Sandbox, kubectl_runner, short: str) -> None:
    result = kubectl_runner(sandbox, "get", short, "-A", "-o", "name")
    assert result.returncode == 0, result.stderr


def test_raw_watch_of_a_cluster_scoped_kind(sandbox: Sandbox) -> None:
    path = "/apis/scheduling.k8s.io/v1/priorityclasses"
    high = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "high"}, "value": 1000}
    assert request(sandbox, "POST", path, body=high)[0] == 201
    status, _, listed = request(sandbox, "GET", path)
    assert status == 200 and listed["kind"] == "PriorityClassList"
    rv = listed["metadata"]["resourceVersion"]
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    conn.request("GET", f"/clusters/dev{path}?watch=true&resourceVersion={rv}&timeoutSeconds=5",
                 headers={"Authorization": f"Bearer {sandbox.token}"})
    response = conn.getresponse()
    try:
        assert request(sandbox, "DELETE", f"{path}/high")[0] == 200
        event = json.loads(response.readline())
        assert event["type"] == "DELETED" and event["object"]["metadata"]["name"] == "high"
    finally:
        conn.close()


def test_verbs_a_resource_lacks_are_method_not_allowed(sandbox: Sandbox) -> None:
    status, _, body = request(sandbox, "GET", "/apis/authentication.k8s.io/v1/tokenreviews")
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    status, _, body = request(sandbox, "DELETE", "/api/v1/namespaces")  # no deletecollection
    assert status == 405
    status, _, body = request(sandbox, "POST", "/api/v1/componentstatuses",
                              body={"metadata": {"name": "x"}})
    assert status == 405
    assert sandbox.get("dev", "v1", "Namespace", None, "default") is not None


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.example.com}
spec:
  group: example.com
  names: {kind: CronTab, plural: crontabs, singular: crontab}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
"""


def test_a_custom_resource_definition_is_stored_but_serves_nothing(sandbox: Sandbox,
                                                                  kubectl) -> None:
    assert kubectl("apply", "-f", "-", input=CRD).returncode == 0
    listed = kubectl("get", "crd", "-o", "name")
    assert listed.stdout.strip() == \
        "customresourcedefinition.apiextensions.k8s.io/crontabs.example.com"
    crontab = "apiVersion: example.com/v1\nkind: CronTab\nmetadata: {name: a, namespace: default}\n"
    unknown = kubectl("apply", "-f", "-", input=crontab)
    assert unknown.returncode == 1
    assert 'no matches for kind "CronTab" in version "example.com/v1"' in unknown.stderr
