"""Server-side defaulting of the sandbox, per kind, as pure functions.

:func:`apply_defaults` fills in what a real API server fills in on create and update (the
registered defaulting functions of each API version plus the values that typed
serialization always writes, such as a container's ``resources: {}``), including the
Service cluster IP a real server allocates. :func:`template_hash` and
:func:`templates_equal` compare pod templates the way the Deployment controller does.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import json
from collections.abc import Callable
from typing import Any

IpAllocator = Callable[[dict], str]

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
# Addresses a real cluster hands out first (the kubernetes Service, cluster DNS) are skipped.
_RESERVED_LOW = 16
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
POD_TEMPLATE_HASH = "pod-template-hash"


def apply_defaults(obj: dict, *, ip_allocator: IpAllocator | None = None) -> dict:
    """A defaulted copy of ``obj`` (dispatch on ``kind``; unknown kinds are only copied).

    Null values are dropped first, as decoding into typed objects does (``rollingUpdate: null``
    is the same as no ``rollingUpdate``). ``ip_allocator`` (optional) picks a Service's cluster
    IP given the Service; by default the address is derived from namespace and name, so it is
    stable across calls.
    """
    if not isinstance(obj, dict):
        return copy.deepcopy(obj)
    result = _drop_nulls(obj)
    handler = _HANDLERS.get(result.get("kind", ""))
    if handler is _default_service:
        _default_service(result, ip_allocator)
    elif handler is not None:
        handler(result)
    return result


def _drop_nulls(value: Any) -> Any:
    """A deep copy of ``value`` without null-valued object members."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _set(mapping: dict, key: str, value: Any) -> None:
    if mapping.get(key) is None:
        mapping[key] = value


# --- pod template --------------------------------------------------------------------------


def default_pod_template(template: dict) -> None:
    """Default a PodTemplateSpec in place."""
    if not isinstance(template, dict):
        return
    spec = template.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec)


def default_pod_spec(spec: dict) -> None:
    """Default a PodSpec in place (SetDefaults_PodSpec and its containers, volumes)."""
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    host_network = bool(spec.get("hostNetwork"))
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                _default_container(container, host_network)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            _default_volume(volume)


def _image_pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _default_container(container: dict, host_network: bool) -> None:
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    _set(container, "imagePullPolicy", _image_pull_policy(str(container.get("image") or "")))
    _set(container, "resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            if host_network and "containerPort" in port:
                _set(port, "hostPort", port["containerPort"])
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            _default_probe(probe)
    for hook in ((container.get("lifecycle") or {}).values()):
        if isinstance(hook, dict) and isinstance(hook.get("httpGet"), dict):
            _set(hook["httpGet"], "scheme", "HTTP")


def _default_probe(probe: dict) -> None:
    _set(probe, "timeoutSeconds", 1)
    _set(probe, "periodSeconds", 10)
    _set(probe, "successThreshold", 1)
    _set(probe, "failureThreshold", 3)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        _set(http_get, "path", "/")
        _set(http_get, "scheme", "HTTP")


_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image",
)


def _default_volume(volume: dict) -> None:
    if not any(source in volume for source in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("configMap", "secret", "projected", "downwardAPI"):
        if isinstance(volume.get(source), dict):
            _set(volume[source], "defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        _set(volume["hostPath"], "type", "")


# --- workloads ------------------------------------------------------------------------------


def _default_deployment(obj: dict) -> None:
    spec = _spec(obj)
    _set(spec, "replicas", 1)
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        _set(rolling, "maxUnavailable", "25%")
        _set(rolling, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def _default_replicaset(obj: dict) -> None:
    spec = _spec(obj)
    _set(spec, "replicas", 1)
    default_pod_template(spec.get("template"))


def _default_statefulset(obj: dict) -> None:
    spec = _spec(obj)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        _set(rolling, "partition", 0)
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(policy, dict):
        policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
    _set(policy, "whenDeleted", "Retain")
    _set(policy, "whenScaled", "Retain")
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _set(claim, "apiVersion", "v1")
            _set(claim, "kind", "PersistentVolumeClaim")
            _set(claim.setdefault("spec", {}), "volumeMode", "Filesystem")
            _set(claim.setdefault("status", {}), "phase", "Pending")
    default_pod_template(spec.get("template"))


def _default_daemonset(obj: dict) -> None:
    spec = _spec(obj)
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))


def _default_job(obj: dict) -> None:
    spec = _spec(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy",
         "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed")
    template = spec.get("template")
    metadata = obj.setdefault("metadata", {})
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    template_labels = template_meta.get("labels") if isinstance(template_meta, dict) else None
    if template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)
    _generate_job_selector(obj, spec)
    default_pod_template(template)


def _generate_job_selector(obj: dict, spec: dict) -> None:
    """Selector and template labels a real server adds to a Job (once it has a uid)."""
    uid = obj.get("metadata", {}).get("uid")
    if not uid or spec.get("manualSelector") or spec.get("selector"):
        return
    name = obj["metadata"].get("name", "")
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    for key, value in (
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
        ("controller-uid", uid),
        ("job-name", name),
    ):
        labels.setdefault(key, value)
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def _default_pod(obj: dict) -> None:
    spec = _spec(obj)
    default_pod_spec(spec)
    _set(spec, "enableServiceLinks", True)
    _set(spec, "serviceAccountName", "default")
    _set(spec, "serviceAccount", spec["serviceAccountName"])
    _set(spec, "priority", 0)
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(isinstance(t, dict) and t.get("key") == key for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300})


# --- core objects ---------------------------------------------------------------------------


def service_cluster_ip(namespace: str, name: str) -> str:
    """The deterministic cluster IP of Service ``namespace/name`` in 10.96.0.0/12."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    span = SERVICE_CIDR.num_addresses - _RESERVED_LOW - 1
    offset = _RESERVED_LOW + int.from_bytes(digest[:8], "big") % span
    return str(SERVICE_CIDR.network_address + offset)


def node_port(namespace: str, name: str, port: Any) -> int:
    """A deterministic node port in 30000-32767 for one port of a Service."""
    digest = hashlib.sha256(f"{namespace}/{name}/{port}".encode()).digest()
    return 30000 + int.from_bytes(digest[:4], "big") % 2768


def _default_service(obj: dict, ip_allocator: IpAllocator | None = None) -> None:
    spec = _spec(obj)
    metadata = obj.get("metadata") or {}
    namespace, name = metadata.get("namespace", "default"), metadata.get("name", "")
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        _set(config.setdefault("clientIP", {}), "timeoutSeconds", 10800)
    svc_type = spec["type"]
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        _set(port, "protocol", "TCP")
        if svc_type != "ExternalName" and "port" in port:
            _set(port, "targetPort", port["port"])
        if svc_type in ("NodePort", "LoadBalancer"):
            _set(port, "nodePort", node_port(namespace, name, port.get("port")))
    if svc_type == "ExternalName":
        return
    _set(spec, "internalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    if not spec.get("clusterIP"):
        clusters = spec.get("clusterIPs") or []
        if clusters:
            spec["clusterIP"] = clusters[0]
        elif ip_allocator is not None:
            spec["clusterIP"] = ip_allocator(obj)
        else:
            spec["clusterIP"] = service_cluster_ip(namespace, name)
    _set(spec, "clusterIPs", [spec["clusterIP"]])
    _set(spec, "ipFamilies", ["IPv4"])
    _set(spec, "ipFamilyPolicy", "SingleStack")
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _set(status, "loadBalancer", {})


def _default_namespace(obj: dict) -> None:
    metadata = obj.setdefault("metadata", {})
    name = metadata.get("name")
    if name:
        labels = metadata.get("labels")
        if not isinstance(labels, dict):
            labels = metadata["labels"] = {}
        labels["kubernetes.io/metadata.name"] = name
    _set(_spec(obj), "finalizers", ["kubernetes"])
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    _set(status, "phase", "Active")


def _default_secret(obj: dict) -> None:
    # stringData is write-only: the server merges it into data (base64) and drops it.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    _set(obj, "type", "Opaque")


def _default_ingress(obj: dict) -> None:
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _set(status, "loadBalancer", {})


def _scaling_rules(rules: Any, window: int, policies: list[dict]) -> dict:
    rules = rules if isinstance(rules, dict) else {}
    if not rules.get("policies"):
        rules["policies"] = policies
    _set(rules, "selectPolicy", "Max")
    _set(rules, "stabilizationWindowSeconds", window)
    return rules


def _default_hpa(obj: dict) -> None:
    spec = _spec(obj)
    _set(spec, "minReplicas", 1)
    if obj.get("apiVersion") == "autoscaling/v1":  # no metrics/behavior in v1
        status = obj.setdefault("status", {})
        if isinstance(status, dict):
            _set(status, "currentReplicas", 0)
            _set(status, "desiredReplicas", 0)
        return
    if not spec.get("metrics"):
        spec["metrics"] = [{
            "type": "Resource",
            "resource": {"name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 80}},
        }]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), 0, [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ])
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), 300, [
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ])
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _set(status, "currentReplicas", 0)
        _set(status, "desiredReplicas", 0)


def _default_pdb(obj: dict) -> None:
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            _set(status, key, 0)


_HANDLERS: dict[str, Callable[..., None]] = {
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replicaset,
    "StatefulSet": _default_statefulset,
    "DaemonSet": _default_daemonset,
    "Job": _default_job,
    "Pod": _default_pod,
    "Service": _default_service,
    "Namespace": _default_namespace,
    "Secret": _default_secret,
    "Ingress": _default_ingress,
    "HorizontalPodAutoscaler": _default_hpa,
    "PodDisruptionBudget": _default_pdb,
}


# --- pod template comparison ----------------------------------------------------------------


def _prune(value: Any) -> Any:
    """Drop null and empty values (recursively), so that they compare as absent."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def normalized_template(template: dict | None) -> dict:
    """A pod template defaulted, without ``pod-template-hash`` and without null/empty values."""
    result = copy.deepcopy(template) if isinstance(template, dict) else {}
    default_pod_template(result)
    labels = (result.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return _prune(result)


def templates_equal(a: dict | None, b: dict | None) -> bool:
    """Whether two pod templates are the same template, as the Deployment controller sees it.

    The ``pod-template-hash`` label is ignored; null and empty values count as absent
    (``creationTimestamp: null``, ``resources: {}``); server defaults are applied first.
    """
    return normalized_template(a) == normalized_template(b)


def template_hash(template: dict | None, collision_count: int | None = None) -> str:
    """A stable short hash of a pod template, in the style of ``pod-template-hash``.

    Equal templates (see :func:`templates_equal`) get the same hash. The FNV-1a 32-bit hash of
    the normalized template is written as decimal digits mapped onto the alphabet Kubernetes
    uses for safe names, giving 1-10 characters of ``[bcdfghjklmnpqrstvwxz2456789]``.
    """
    data = json.dumps(normalized_template(template), sort_keys=True, separators=(",", ":"))
    if collision_count:
        data += f"#{collision_count}"
    value = 0x811C9DC5
    for byte in data.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_HASH_ALPHABET[ord(ch) % len(_HASH_ALPHABET)] for ch in str(value))
