"""Kind registry of the sandbox and the discovery / OpenAPI documents built from it.

Discovery is the legacy (non-aggregated) JSON form a real API server returns for
``/api``, ``/apis``, ``/api/v1`` and ``/apis/<group>/<version>``. The OpenAPI v3 documents
carry no schemas: each kind has a PATCH operation tagged with
``x-kubernetes-group-version-kind`` and a ``fieldValidation`` query parameter, which is what
kubectl needs to leave validation to the server and use its compiled-in strategic-merge
metadata for the built-in kinds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
NAMESPACE_VERBS: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One served kind: where it lives in the API and what may be done with it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        """``apps/v1`` for a named group, ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` field of objects of this kind (same as group_version)."""
        return self.group_version

    @property
    def resource_name(self) -> str:
        """``deployments.apps`` / ``pods``: the name used in Status messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path of a collection or of one object of this kind."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            prefix += f"/namespaces/{namespace}"
        prefix += f"/{self.plural}"
        return f"{prefix}/{name}" if name else prefix


_STATUS = ("status",)
_STATUS_SCALE = ("status", "scale")
_ALL = ("all",)

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceType("", "v1", "Event", "events", "event", True, ("ev",)),
    ResourceType(
        "", "v1", "Namespace", "namespaces", "namespace", False, ("ns",), NAMESPACE_VERBS, _STATUS
    ),
    ResourceType("", "v1", "Pod", "pods", "pod", True, ("po",), ALL_VERBS, _STATUS, _ALL),
    ResourceType("", "v1", "Secret", "secrets", "secret", True),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",)),
    ResourceType("", "v1", "Service", "services", "service", True, ("svc",), ALL_VERBS, _STATUS,
                 _ALL),
    # apps/v1
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
                 True),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, ("ds",), ALL_VERBS,
                 _STATUS, _ALL),
    ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",),
                 ALL_VERBS, _STATUS_SCALE, _ALL),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",),
                 ALL_VERBS, _STATUS_SCALE, _ALL),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",),
                 ALL_VERBS, _STATUS_SCALE, _ALL),
    # autoscaling/v2
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 "horizontalpodautoscaler", True, ("hpa",), ALL_VERBS, _STATUS, _ALL),
    # batch/v1
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, ("cj",), ALL_VERBS,
                 _STATUS, _ALL),
    ResourceType("batch", "v1", "Job", "jobs", "job", True, (), ALL_VERBS, _STATUS, _ALL),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
    # networking.k8s.io/v1
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, ("ing",),
                 ALL_VERBS, _STATUS),
    # policy/v1
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
                 "poddisruptionbudget", True, ("pdb",), ALL_VERBS, _STATUS),
)

# Named groups in the order a real server lists them (one served version each).
GROUP_VERSIONS: tuple[tuple[str, str], ...] = (
    ("apps", "v1"),
    ("autoscaling", "v2"),
    ("batch", "v1"),
    ("networking.k8s.io", "v1"),
    ("policy", "v1"),
    ("coordination.k8s.io", "v1"),
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCE_TYPES
}
_BY_KIND: dict[tuple[str, str], ResourceType] = {
    (r.group_version, r.kind): r for r in RESOURCE_TYPES
}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The resource type served at ``/apis/<group>/<version>/<plural>`` (group "" = core)."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The resource type of objects with this ``apiVersion`` and ``kind``."""
    return _BY_KIND.get((api_version, kind))


def api_versions_doc() -> dict:
    """``GET /api``: APIVersions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }


def api_group_list_doc() -> dict:
    """``GET /apis``: APIGroupList with one preferred version per group."""
    groups = []
    for group, version in GROUP_VERSIONS:
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": dict(gv)})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _served(group: str, version: str) -> bool:
    if group == "":
        return version == "v1"
    return (group, version) in GROUP_VERSIONS


def _resource_entries(rt: ResourceType) -> list[dict]:
    entry: dict = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    for sub in rt.subresources:
        sub_entry: dict = {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(SUBRESOURCE_VERBS),
        }
        if sub == "scale":
            sub_entry.update(group="autoscaling", version="v1", kind="Scale")
        entries.append(sub_entry)
    return entries


def api_resource_list_doc(group: str, version: str) -> dict | None:
    """``GET /api/v1`` or ``/apis/<group>/<version>``: APIResourceList, None if not served."""
    if not _served(group, version):
        return None
    resources: list[dict] = []
    for rt in sorted(RESOURCE_TYPES, key=lambda r: r.plural):
        if rt.group == group and rt.version == version:
            resources.extend(_resource_entries(rt))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


# --- OpenAPI v3 -----------------------------------------------------------------------------


def _openapi_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _all_group_versions() -> list[tuple[str, str]]:
    return [("", "v1"), *GROUP_VERSIONS]


def _param(name: str, where: str, description: str, required: bool = False) -> dict:
    param: dict = {
        "name": name,
        "in": where,
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }
    if required:
        param["required"] = True
    return param


_PATCH_PARAMS: tuple[dict, ...] = (
    _param("dryRun", "query", "When present, indicates that modifications should not be "
           "persisted."),
    _param("fieldManager", "query", "fieldManager is a name associated with the actor or entity "
           "that is making these changes."),
    _param("fieldValidation", "query", "fieldValidation instructs the server on how to handle "
           "objects in the request containing unknown or duplicate fields. Valid values are: "
           "Ignore, Warn, Strict."),
    {"name": "force", "in": "query", "description": "Force is going to \"force\" Apply requests.",
     "schema": {"type": "boolean", "uniqueItems": True}},
)
_WRITE_PARAMS: tuple[dict, ...] = _PATCH_PARAMS[:3]


def _gvk(rt: ResourceType) -> dict:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _operation(rt: ResourceType, verb: str, op_id: str, params: tuple[dict, ...]) -> dict:
    return {
        "description": f"{verb} the specified {rt.kind}",
        "operationId": op_id,
        "parameters": [dict(p) for p in params],
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": _gvk(rt),
    }


def _paths_for(rt: ResourceType) -> dict[str, dict]:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    ns_path = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    collection = f"{ns_path}/{rt.plural}"
    item = f"{collection}/{{name}}"
    scope = "Namespaced" if rt.namespaced else ""
    ident = rt.group.split(".")[0].title().replace("-", "") + rt.version.title() if rt.group \
        else "CoreV1"
    common = [_param("pretty", "query", "If 'true', then the output is pretty printed.")]
    path_params = [_param("name", "path", f"name of the {rt.kind}", required=True)]
    if rt.namespaced:
        path_params.append(_param("namespace", "path", "object name and auth scope", True))
    paths: dict[str, dict] = {
        collection: {
            "get": _operation(rt, "list", f"list{ident}{scope}{rt.kind}", ()),
            "post": _operation(rt, "post", f"create{ident}{scope}{rt.kind}", _WRITE_PARAMS),
            "parameters": [p for p in path_params[1:]] + common,
        },
        item: {
            "get": _operation(rt, "get", f"read{ident}{scope}{rt.kind}", ()),
            "put": _operation(rt, "put", f"replace{ident}{scope}{rt.kind}", _WRITE_PARAMS),
            "patch": _operation(rt, "patch", f"patch{ident}{scope}{rt.kind}", _PATCH_PARAMS),
            "delete": _operation(rt, "delete", f"delete{ident}{scope}{rt.kind}", _PATCH_PARAMS[:1]),
            "parameters": path_params + common,
        },
    }
    for sub in rt.subresources:
        sub_rt = rt
        if sub == "scale":
            sub_rt = ResourceType("autoscaling", "v1", "Scale", "scale", "", rt.namespaced)
        title = sub.title()
        paths[f"{item}/{sub}"] = {
            "get": _operation(sub_rt, "get", f"read{ident}{scope}{rt.kind}{title}", ()),
            "put": _operation(sub_rt, "put", f"replace{ident}{scope}{rt.kind}{title}",
                              _WRITE_PARAMS),
            "patch": _operation(sub_rt, "patch", f"patch{ident}{scope}{rt.kind}{title}",
                                _PATCH_PARAMS),
            "parameters": path_params + common,
        }
    return paths


# Built-in kinds of the served group versions that the sandbox does not serve. They appear in
# the OpenAPI documents only (as on a real server), so that kubectl's field-validation check
# passes for them and it then reports what a real server's user would see for a kind missing
# from discovery: `no matches for kind "NetworkPolicy" in version "networking.k8s.io/v1"`.
OPENAPI_ONLY_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",)),
    ResourceType("", "v1", "LimitRange", "limitranges", "limitrange", True, ("limits",)),
    ResourceType("", "v1", "Node", "nodes", "node", False, ("no",)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
                 ("pv",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
                 "persistentvolumeclaim", True, ("pvc",)),
    ResourceType("", "v1", "PodTemplate", "podtemplates", "podtemplate", True),
    ResourceType("", "v1", "ReplicationController", "replicationcontrollers",
                 "replicationcontroller", True, ("rc",)),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True,
                 ("quota",)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass",
                 False),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
                 "networkpolicy", True, ("netpol",)),
)


@cache
def _group_doc_json(group: str, version: str) -> str:
    paths: dict[str, dict] = {}
    for rt in RESOURCE_TYPES + OPENAPI_ONLY_TYPES:
        if rt.group == group and rt.version == version:
            paths.update(_paths_for(rt))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return json.dumps(doc, sort_keys=True)


def _doc_hash(group: str, version: str) -> str:
    return hashlib.sha512(_group_doc_json(group, version).encode()).hexdigest().upper()


def openapi_v3_root_doc() -> dict:
    """``GET /openapi/v3``: the group-version index with content hashes."""
    return {
        "paths": {
            _openapi_key(g, v): {
                "serverRelativeURL": f"/openapi/v3/{_openapi_key(g, v)}?hash={_doc_hash(g, v)}"
            }
            for g, v in _all_group_versions()
        }
    }


def openapi_v3_group_doc(path: str) -> dict | None:
    """``GET /openapi/v3/<path>`` (``api/v1``, ``apis/apps/v1``); None if not served.

    A leading ``/``, a leading ``openapi/v3/`` and a ``?query`` are tolerated.
    """
    key = path.split("?", 1)[0].strip("/")
    if key.startswith("openapi/v3/"):
        key = key[len("openapi/v3/"):]
    for g, v in _all_group_versions():
        if key == _openapi_key(g, v):
            return json.loads(_group_doc_json(g, v))
    return None


# --- OpenAPI v2 (optional) ------------------------------------------------------------------

OPENAPI_V2_CONTENT_TYPE = "application/octet-stream"


def openapi_v2_doc() -> bytes:
    """An empty OpenAPI v2 document in protobuf form (zero bytes), for ``GET /openapi/v2``.

    kubectl asks for v2 as protobuf. Served with :data:`OPENAPI_V2_CONTENT_TYPE`, this empty
    document lets kubectl finish client-side validation of kinds from groups the server does
    not know, so ``kubectl apply`` of such a kind reports ``resource mapping not found ...
    no matches for kind "Foo" in version "example.com/v1"`` as against a real cluster, instead
    of ``failed to download openapi``. Answering 404 instead is also workable for served kinds.
    """
    return b""
