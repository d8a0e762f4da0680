"""OpenAPI documents of the sandbox: v3 per group version without schemas, and an empty v2.

Each kind has the operations its verbs allow; its PATCH operation is tagged with
``x-kubernetes-group-version-kind`` and has a ``fieldValidation`` query parameter, which is
what kubectl needs to leave validation to the server and use its compiled-in strategic-merge
metadata for the built-in kinds.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from .registry import GROUP_VERSIONS, RESOURCE_TYPES, ResourceType, Subresource


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
_DELETE_PARAMS: tuple[dict, ...] = _PATCH_PARAMS[:1]
_NO_PARAMS: tuple[dict, ...] = ()

#: verb -> (HTTP method, operation id prefix, x-kubernetes-action, query parameters)
_ITEM_OPS = {
    "get": ("get", "read", "get", _NO_PARAMS),
    "update": ("put", "replace", "put", _WRITE_PARAMS),
    "patch": ("patch", "patch", "patch", _PATCH_PARAMS),
    "delete": ("delete", "delete", "delete", _DELETE_PARAMS),
    "create": ("post", "create", "post", _WRITE_PARAMS),
}
_COLLECTION_OPS = {
    "list": ("get", "list", "list", _NO_PARAMS),
    "create": ("post", "create", "post", _WRITE_PARAMS),
    "deletecollection": ("delete", "deleteCollection", "deletecollection", _DELETE_PARAMS),
}


def _operation(gvk: dict, kind: str, action: str, op_id: str,
               params: tuple[dict, ...]) -> dict:
    return {
        "description": f"{action} the specified {kind}",
        "operationId": op_id,
        "parameters": [dict(p) for p in params],
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _operations(verbs: tuple[str, ...], table: dict, gvk: dict, name: str) -> dict:
    ops = {}
    for verb in verbs:
        if verb in table:
            method, prefix, action, params = table[verb]
            ops[method] = _operation(gvk, gvk["kind"], action, prefix + name, params)
    return ops


def _ident(rt: ResourceType) -> str:
    """``AppsV1``, ``CoreV1``, ``RbacAuthorizationV1``: the operation id infix."""
    if not rt.group:
        return "CoreV1"
    words = rt.group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(w.title() for w in words) + rt.version.title()


def _paths_for(rt: ResourceType) -> dict[str, dict]:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    ns_path = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    collection = f"{ns_path}/{rt.plural}"
    item = f"{collection}/{{name}}"
    name = _ident(rt) + ("Namespaced" if rt.namespaced else "") + rt.kind
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    common = [_param("pretty", "query", "If 'true', then the output is pretty printed.")]
    path_params = [_param("name", "path", f"name of the {rt.kind}", required=True)]
    if rt.namespaced:
        path_params.append(_param("namespace", "path", "object name and auth scope", True))
    paths: dict[str, dict] = {}
    ops = _operations(rt.verbs, _COLLECTION_OPS, gvk, name)
    if ops:
        paths[collection] = {**ops, "parameters": path_params[1:] + common}
    ops = _operations(rt.verbs, {k: v for k, v in _ITEM_OPS.items() if k != "create"}, gvk,
                      name)
    if ops:
        paths[item] = {**ops, "parameters": path_params + common}
    for sub in rt.subresource_types:
        paths[f"{item}/{sub.name}"] = _subresource_path(sub, name, path_params + common)
    return paths


def _subresource_path(sub: Subresource, name: str, params: list[dict]) -> dict:
    gvk = {"group": sub.group, "version": sub.version, "kind": sub.kind}
    return {**_operations(sub.verbs, _ITEM_OPS, gvk, name + sub.name.title()),
            "parameters": params}


@cache
def _group_doc_json(group: str, version: str) -> str:
    paths: dict[str, dict] = {}
    for rt in RESOURCE_TYPES:
        if rt.group == group and rt.version == version:
            paths.update(_paths_for(rt))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return json.dumps(doc, sort_keys=True)


@cache
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
