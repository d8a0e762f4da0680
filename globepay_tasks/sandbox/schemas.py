"""The official Kubernetes 1.37 object schemas, compiled lazily into nodes the decoders walk.

The data is kubernetes-validate's strict JSON Schema set (``v1.37.0-local-strict``): one
``_definitions.json`` whose ``$defs`` keys are Go type names (``io.k8s.api.apps.v1.Deployment``).
It is read once, on the first lookup, and each kind's tree of :class:`Node` is built on demand
and cached. Without kubernetes-validate installed every lookup answers None (nothing is
validated).
"""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SCHEMA_SET = "v1.37.0-local-strict"

# Node kinds; every node also carries the Go type a JSON value is decoded into.
STRUCT, MAP, LIST, ANY = "struct", "map", "list", "any"
INT, FLOAT, STRING, BOOL, BYTES = "int", "float", "string", "bool", "bytes"
INT_OR_STRING, QUANTITY, TIME = "intorstring", "quantity", "time"

_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": (INT_OR_STRING, "intstr.IntOrString"),
    "io.k8s.apimachinery.pkg.api.resource.Quantity": (QUANTITY, "resource.Quantity"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": (TIME, "v1.Time"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": (TIME, "v1.MicroTime"),
}


class Node:
    """One schema position.

    ``kind`` is one of the constants above; ``go`` the Go type as ``reflect`` prints it
    (``int32``, ``v1.DeploymentSpec``, ``[]v1.Container``, ``map[string]string``); ``struct``
    the Go struct name of a STRUCT (``DeploymentSpec``); ``fields`` its members; ``open`` a
    struct that keeps unknown members (``x-kubernetes-preserve-unknown-fields``); ``item`` the
    element of a LIST or MAP; ``list_type``/``list_keys`` how server-side apply identifies
    list elements (``atomic``, ``set`` or ``map`` with keys); ``patch`` the strategic merge
    patch metadata of a STRUCT's members that have any: member -> (``x-kubernetes-patch-
    strategy``, ``x-kubernetes-patch-merge-key``), a property of the member, not of its type
    (PodDisruptionBudgetSpec's ``selector`` is replaced whole, other LabelSelectors merge).
    """

    __slots__ = ("fields", "go", "item", "kind", "list_keys", "list_type", "open", "patch",
                 "struct")

    def __init__(self, kind: str, go: str, struct: str = "") -> None:
        self.kind = kind
        self.go = go
        self.struct = struct
        self.fields: dict[str, Node] = {}
        self.open = False
        self.item: Node | None = None
        self.list_type = "atomic"
        self.list_keys: tuple[str, ...] = ()
        self.patch: dict[str, tuple[str, str]] = {}

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.go})"


ANY_NODE = Node(ANY, "interface {}")


def _data_file() -> Path | None:
    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "kubernetes-json-schema" / SCHEMA_SET / "_definitions.json"
        if path.is_file():
            return path
    return None


class Definitions:
    """A ``$defs`` mapping, turned into :class:`Node` trees on demand (each definition once)."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.nodes: dict[str, Node] = {}
        self.roots: dict[tuple[str, str], str] = {}
        for name, definition in defs.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                group, version = gvk.get("group", ""), gvk.get("version", "")
                api_version = f"{group}/{version}" if group else version
                self.roots.setdefault((api_version, gvk.get("kind", "")), name)

    def root(self, api_version: str, kind: str) -> Node | None:
        """The node of the object kind ``kind`` in ``api_version``, None if none."""
        name = self.roots.get((api_version, kind))
        return self.definition(name) if name else None

    def definition(self, name: str) -> Node:
        """The node of ``$defs[name]``."""
        node = self.nodes.get(name)
        if node is not None:
            return node
        if name in _SPECIAL:
            kind, go = _SPECIAL[name]
            node = self.nodes[name] = Node(kind, go)
            return node
        schema = self.defs.get(name)
        if schema is None:
            return ANY_NODE
        segments = name.split(".")
        go = f"{segments[-2]}.{segments[-1]}" if len(segments) > 1 else name
        if "properties" not in schema:
            node = self.nodes[name] = self._build(schema, go)
            return node
        node = self.nodes[name] = Node(STRUCT, go, segments[-1])  # registered before fields
        self._fill_struct(node, schema)
        return node

    def _fill_struct(self, node: Node, schema: dict[str, Any]) -> None:
        node.open = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        node.fields = {key: self.build(sub) for key, sub in schema["properties"].items()}
        node.patch = {key: (sub["x-kubernetes-patch-strategy"],
                            sub.get("x-kubernetes-patch-merge-key", ""))
                      for key, sub in schema["properties"].items()
                      if sub.get("x-kubernetes-patch-strategy")}

    def build(self, schema: dict[str, Any]) -> Node:
        """The node of an inline schema (following ``$ref``)."""
        ref = schema.get("$ref")
        if ref:
            return self.definition(ref.rpartition("/")[2])
        return self._build(schema, "")

    def _build(self, schema: dict[str, Any], go: str) -> Node:
        if schema.get("x-kubernetes-int-or-string"):
            return Node(INT_OR_STRING, go or "intstr.IntOrString")
        types = schema.get("type")
        kinds = set(types) if isinstance(types, list) else {types}
        kinds.discard("null")
        if "object" in kinds:
            return self._object(schema, go)
        if "array" in kinds:
            item = self.build(schema.get("items") or {})
            node = Node(LIST, go or f"[]{item.go}")
            node.item = item
            node.list_type, node.list_keys = _list_identity(schema)
            return node
        fmt = schema.get("format")
        if "integer" in kinds:
            return Node(INT, go or (fmt if fmt in ("int32", "int64") else "int"))
        if "number" in kinds:
            return Node(FLOAT, go or "float64")
        if "boolean" in kinds:
            return Node(BOOL, go or "bool")
        if "string" in kinds:
            return Node(BYTES, go or "[]uint8") if fmt == "byte" else Node(STRING, go or "string")
        return ANY_NODE

    def _object(self, schema: dict[str, Any], go: str) -> Node:
        if "properties" in schema:
            node = Node(STRUCT, go or "struct", go.rpartition(".")[2])
            self._fill_struct(node, schema)
            return node
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
            item = self.build(extra)
            node = Node(MAP, go or f"map[string]{item.go}")
            node.item = item
            return node
        return Node(ANY, go or "interface {}")  # RawExtension, FieldsV1, free-form JSON


def _list_identity(schema: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(list type, key fields) as server-side apply derives them from the extensions."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        return "map", tuple(schema.get("x-kubernetes-list-map-keys") or ())
    if list_type in ("set", "atomic"):
        return list_type, ()
    strategy = schema.get("x-kubernetes-patch-strategy") or ""
    if "merge" in strategy.split(","):
        key = schema.get("x-kubernetes-patch-merge-key")
        return ("map", (key,)) if key else ("set", ())
    return "atomic", ()


_lock = threading.Lock()


@cache
def _definitions() -> Definitions | None:
    path = _data_file()
    if path is None:
        return None
    with path.open(encoding="utf-8") as handle:
        return Definitions(json.load(handle).get("$defs", {}))


def schema_for(api_version: str, kind: str) -> Node | None:
    """The root node of ``kind`` in ``api_version`` (``apps/v1``), None if it has no schema."""
    with _lock:  # loaded once; nodes are built as they are first needed
        definitions = _definitions()
        return definitions.root(api_version, kind) if definitions is not None else None


__all__ = ["ANY_NODE", "LIST", "MAP", "STRUCT", "Definitions", "Node", "schema_for"]
