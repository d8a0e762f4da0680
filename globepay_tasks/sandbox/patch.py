"""Patch semantics of the sandbox API server, as pure functions on JSON-like dicts.

- :func:`strategic_merge`: Kubernetes strategic merge patch for the built-in kinds the sandbox
  serves (patch strategies and merge keys from the Kubernetes schemas, :mod:`.schemas`, or
  without them from :data:`KINDS`; ``$patch``, ``$retainKeys``, ``$setElementOrder/<field>``,
  ``$deleteFromPrimitiveList/<field>``, null deletes a key).
- :func:`json_patch`: RFC 6902 (add, remove, replace, move, copy, test).
- :func:`merge_patch`: RFC 7386.
- :func:`server_side_apply`: a simplified server-side apply (see its docstring).

Every function returns a new object and leaves its arguments untouched; malformed or
inapplicable patches raise :class:`PatchError`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .schemas import ANY_NODE, LIST, MAP, STRUCT, Node, schema_for
from .store import clone

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


class PatchError(ValueError):
    """A patch that is malformed or cannot be applied to the object."""


# --- patch metadata of the built-in types -----------------------------------------------------


@dataclass(frozen=True)
class Field:
    """Patch metadata of one field: its strategy, merge key and (struct) element type."""

    strategy: str = ""  # "merge" (lists merged by key / primitive union), "replace", ""
    merge_key: str = ""
    type: str = ""  # name in TYPES of the field's (element) type, "" when it does not matter


_MERGE_BY_TYPE = Field("merge", "type")
_TEMPLATE = Field(type="PodTemplateSpec")
_META = Field(type="ObjectMeta")

TYPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {
        "ownerReferences": Field("merge", "uid"),
        "finalizers": Field("merge"),
    },
    "PodTemplateSpec": {"metadata": _META, "spec": Field(type="PodSpec")},
    "PodSpec": {
        "volumes": Field("merge", "name"),
        "initContainers": Field("merge", "name", "Container"),
        "containers": Field("merge", "name", "Container"),
        "ephemeralContainers": Field("merge", "name", "Container"),
        "imagePullSecrets": Field("merge", "name"),
        "hostAliases": Field("merge", "ip"),
        "topologySpreadConstraints": Field("merge", "topologyKey"),
        "resourceClaims": Field("merge", "name"),
        "schedulingGates": Field("merge", "name"),
    },
    "Container": {
        "ports": Field("merge", "containerPort"),
        "env": Field("merge", "name"),
        "volumeMounts": Field("merge", "mountPath"),
        "volumeDevices": Field("merge", "devicePath"),
    },
    "PodStatus": {
        "conditions": _MERGE_BY_TYPE,
        "podIPs": Field("merge", "ip"),
        "hostIPs": Field("merge", "ip"),
        "resourceClaimStatuses": Field("merge", "name"),
    },
    "ConditionsStatus": {"conditions": _MERGE_BY_TYPE},
    "WorkloadSpec": {"template": _TEMPLATE},
    "CronJobSpec": {"jobTemplate": Field(type="JobTemplateSpec")},
    "JobTemplateSpec": {"metadata": _META, "spec": Field(type="WorkloadSpec")},
    "PodDisruptionBudgetSpec": {"selector": Field("replace")},
    "ServiceSpec": {"ports": Field("merge", "port")},
}

# Root type of each kind: field -> metadata (metadata is common to all kinds).
KINDS: dict[str, dict[str, Field]] = {
    "Pod": {"spec": Field(type="PodSpec"), "status": Field(type="PodStatus")},
    "PodTemplate": {"template": _TEMPLATE},
    "Deployment": {
        "spec": Field(type="WorkloadSpec"),
        "status": Field(type="ConditionsStatus"),
    },
    "ReplicaSet": {
        "spec": Field(type="WorkloadSpec"),
        "status": Field(type="ConditionsStatus"),
    },
    "StatefulSet": {
        "spec": Field(type="WorkloadSpec"),
        "status": Field(type="ConditionsStatus"),
    },
    "DaemonSet": {
        "spec": Field(type="WorkloadSpec"),
        "status": Field(type="ConditionsStatus"),
    },
    "Job": {"spec": Field(type="WorkloadSpec"), "status": Field(type="ConditionsStatus")},
    "CronJob": {"spec": Field(type="CronJobSpec")},
    "Service": {"spec": Field(type="ServiceSpec"), "status": Field(type="ConditionsStatus")},
    "Namespace": {"status": Field(type="ConditionsStatus")},
    "ServiceAccount": {"secrets": Field("merge", "name")},
    "HorizontalPodAutoscaler": {"status": Field(type="ConditionsStatus")},
    "PodDisruptionBudget": {
        "spec": Field(type="PodDisruptionBudgetSpec"),
        "status": Field(type="ConditionsStatus"),
    },
    "Ingress": {},
}


class _Schema:
    """Looks up patch metadata of the fields of one (struct) type: in its Kubernetes schema
    (``node``) when there is one, else in the tables above (``fields``)."""

    def __init__(self, fields: dict[str, Field], node: Node | None = None):
        self.fields = fields
        self.node = node

    @classmethod
    def for_kind(cls, kind: str, api_version: str | None = None) -> _Schema:
        node = schema_for(api_version, kind) if api_version else None
        if node is not None and node.kind == STRUCT:
            return cls({}, node)
        return cls({"metadata": _META, **KINDS.get(kind, {})})

    def field(self, name: str) -> Field:
        if self.node is None:
            return self.fields.get(name, Field())
        strategy, merge_key = self.node.patch.get(name, ("", ""))
        parts = strategy.split(",")  # "merge,retainKeys": $retainKeys is a patch directive
        return Field("merge" if "merge" in parts else "replace" if "replace" in parts else "",
                     merge_key)

    def sub(self, name: str) -> _Schema:
        """The schema of field ``name``'s value (of its elements, for a list)."""
        if self.node is None:
            return _Schema(TYPES.get(self.field(name).type, {}))
        child = (self.node.fields.get(name) if self.node.kind == STRUCT
                 else self.node.item if self.node.kind == MAP else None)
        if child is not None and child.kind == LIST:
            child = child.item
        return _Schema({}, child or ANY_NODE)




# --- strategic merge patch ----------------------------------------------------------------------


def strategic_merge(original: dict, patch: dict, kind: str,
                    api_version: str | None = None) -> dict:
    """Apply a strategic merge patch to ``original`` (an object of ``kind`` in
    ``api_version``, default: the one ``original`` names)."""
    if not isinstance(original, dict):
        raise PatchError("original object is not a JSON object")
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    schema = _Schema.for_kind(kind, api_version or original.get("apiVersion"))
    return _merge_map(clone(original), clone(patch), schema)


def _merge_map(original: dict, patch: dict, schema: _Schema) -> dict:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return _strip_directives(patch)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise PatchError(f"Unknown patch type: {directive!r} in map: {patch}")
    _apply_retain_keys(original, patch)
    _apply_set_element_order(original, patch, schema)
    deletions: list[tuple[str, Any]] = []
    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE_PREFIX):
            deletions.append((key[len(DELETE_PRIMITIVE_PREFIX):], value))
            continue
        if key.startswith(SET_ORDER_PREFIX):
            continue
        if key.startswith("$"):
            raise PatchError(f"unknown strategic merge patch directive: {key!r}")
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(original.get(key), value, key, schema)
    for key, value in deletions:
        if not isinstance(value, list):
            raise PatchError(f"{DELETE_PRIMITIVE_PREFIX}{key} must be a list")
        if key in original:
            if not isinstance(original[key], list):
                raise PatchError(f"cannot delete from non-list field {key!r}")
            original[key] = [item for item in original[key] if item not in value]
    return original


def _merge_value(current: Any, value: Any, key: str, schema: _Schema) -> Any:
    """Merge one patch value into the current value of field ``key``."""
    field = schema.field(key)
    if isinstance(value, dict):
        if field.strategy == "replace":
            return _strip_directives(value)
        base = current if isinstance(current, dict) else {}
        return _merge_map(base, value, schema.sub(key))
    if isinstance(value, list):
        base = current if isinstance(current, list) else []
        if field.strategy == "merge":
            return _merge_list(base, value, field, schema.sub(key))
        return _strip_directives(value)
    return value


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keys = patch.pop(RETAIN_KEYS)
    if not isinstance(keys, list):
        raise PatchError("invalid patch: $retainKeys must be a list of field names")
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PRIMITIVE_PREFIX, SET_ORDER_PREFIX)):
            continue
        if key not in keys:
            raise PatchError(
                f"doesn't satisfy strategic merge patch format: field {key!r} is not in "
                f"$retainKeys {keys}"
            )
    for key in list(original):
        if key not in keys:
            del original[key]


def _apply_set_element_order(original: dict, patch: dict, schema: _Schema) -> None:
    """Merge each ``$setElementOrder/<field>`` list with its patch list, in that order."""
    for directive in [k for k in patch if k.startswith(SET_ORDER_PREFIX)]:
        order = patch.pop(directive)
        key = directive[len(SET_ORDER_PREFIX):]
        if not isinstance(order, list):
            raise PatchError(f"{directive} must be a list")
        field = schema.field(key)
        current = original.get(key)
        if current is not None and not isinstance(current, list):
            raise PatchError(f"cannot set element order of non-list field {key!r}")
        if key in patch:
            value = patch.pop(key)
            if value is None:
                original.pop(key, None)
                continue
            if not isinstance(value, list):
                raise PatchError(f"field {key!r} must be a list")
            _check_order_covers_patch(value, order, field.merge_key, directive)
            merged = _merge_value(current, value, key, schema)
        elif current is None:
            continue
        else:
            merged = current
        if not isinstance(merged, list):
            original[key] = merged
            continue
        in_order, server_only = _partition(merged, order, field.merge_key)
        original[key] = _normalize_order(in_order, server_only, order, current or [],
                                         field.merge_key)


def _check_order_covers_patch(items: list, order: list, merge_key: str, directive: str) -> None:
    """The patch items (deletions aside) must appear in the order list, in the same order."""
    plain = [i for i in items if not (isinstance(i, dict) and DIRECTIVE in i)]
    position = 0
    for item in plain:
        ident = _identity(item, merge_key)
        while position < len(order) and _identity(order[position], merge_key) != ident:
            position += 1
        if position >= len(order):
            raise PatchError(f"The order in patch list: {items} doesn't match {directive} "
                             f"list: {order}")
        position += 1


def _identity(item: Any, merge_key: str) -> Any:
    if merge_key and isinstance(item, dict):
        return ("key", _hashable(item.get(merge_key)))
    return ("value", _hashable(item))


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _merge_list(original: list, patch: list, field: Field, schema: _Schema) -> list:
    if not original and not patch:
        return []
    key = field.merge_key
    kinds = {isinstance(v, dict) for v in original + patch}
    if any(isinstance(v, list) for v in original + patch):
        raise PatchError("strategic merge patch cannot merge lists of lists")
    if True not in kinds:
        merged = list(original)
        for item in patch:
            if item not in merged:
                merged.append(item)
    else:
        if not key:
            raise PatchError("cannot merge lists without merge key")
        if False in kinds:
            raise PatchError("strategic merge patch: list mixes objects and scalars")
        original, patch = _special_elements(list(original), patch, key, schema)
        merged = list(original)
        for item in patch:
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
            index = _find(merged, key, item[key])
            if index is None:
                merged.append(_merge_map({}, item, schema))
            else:
                merged[index] = _merge_map(merged[index], item, schema)
    in_patch, server_only = _partition(merged, patch, key)
    return _normalize_order(in_patch, server_only, patch, original, key)


def _special_elements(
    original: list, patch: list, key: str, schema: _Schema
) -> tuple[list, list]:
    """Handle ``{"$patch": ...}`` list elements; returns the new original and plain patch."""
    plain: list = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
            original = [o for o in original if o.get(key) != item[key]]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"Unknown patch type: {directive!r} in map: {item}")
    if replace:
        return [_merge_map({}, p, schema) for p in plain], []
    return original, plain


def _find(items: list, key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return index
    return None


def _partition(merged: list, order: list, key: str) -> tuple[list, list]:
    wanted = {_identity(o, key) for o in order if not (isinstance(o, dict) and DIRECTIVE in o)}
    inside = [m for m in merged if _identity(m, key) in wanted]
    outside = [m for m in merged if _identity(m, key) not in wanted]
    return inside, outside


def _sorted_by(items: list, order: list, key: str) -> list:
    positions = {}
    for index, item in enumerate(order):
        positions.setdefault(_identity(item, key), index)
    return sorted(items, key=lambda item: positions.get(_identity(item, key), len(order)))


def _normalize_order(patch_items: list, server_only: list, patch_order: list,
                     server_order: list, key: str) -> list:
    """Interleave patch items (in patch order) with server-only items (in live order).

    Mirrors Kubernetes: the relative order of each group is kept; a server-only item goes
    before the next patch item when the live list had it first.
    """
    left = _sorted_by(server_only, server_order, key)
    right = _sorted_by(patch_items, patch_order, key)
    live = {}
    for index, item in enumerate(server_order):
        live.setdefault(_identity(item, key), index)
    result: list = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            result.append(right[j])
            j += 1
        elif j >= len(right):
            result.append(left[i])
            i += 1
        else:
            li = live.get(_identity(left[i], key))
            ri = live.get(_identity(right[j], key))
            if li is not None and ri is not None and li < ri:
                result.append(left[i])
                i += 1
            else:
                result.append(right[j])
                j += 1
    return result


def _strip_directives(value: Any) -> Any:
    """A copy of ``value`` without patch directives (for values that replace wholesale)."""
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if k not in (DIRECTIVE, RETAIN_KEYS)
            and not k.startswith((SET_ORDER_PREFIX, DELETE_PRIMITIVE_PREFIX))
        }
    if isinstance(value, list):
        return [
            _strip_directives(v) for v in value if not (isinstance(v, dict) and DIRECTIVE in v)
        ]
    return value


# --- JSON patch (RFC 6902) ----------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r} does not start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _list_index(container: list, token: str, path: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r} in path {path!r}")
    index = int(token)
    limit = len(container) + (1 if allow_end else 0)
    if index >= limit:
        raise PatchError(f"array index {index} out of bounds in path {path!r}")
    return index


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for token in parts[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f'doc is missing path: "{path}": missing value')
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, path, allow_end=False)]
        else:
            raise PatchError(f'doc is missing path: "{path}": missing value')
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f'doc is missing path: "{path}": missing value')
        return parent[token]
    if isinstance(parent, list):
        return parent[_list_index(parent, token, path, allow_end=False)]
    raise PatchError(f'doc is missing path: "{path}": missing value')


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    token = parts[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, token, path, allow_end=True), value)
    else:
        raise PatchError(f'doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise PatchError("unable to remove the whole document")
    parent = _parent(doc, parts, path)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f'unable to remove nonexistent key: {token}: missing value')
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_list_index(parent, token, path, allow_end=False))
    raise PatchError(f'doc is missing path: "{path}": missing value')


def _replace(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f'replace operation does not apply: doc is missing key: {path}: '
                             'missing value')
        parent[token] = value
    elif isinstance(parent, list):
        parent[_list_index(parent, token, path, allow_end=False)] = value
    else:
        raise PatchError(f'doc is missing path: "{path}": missing value')
    return doc


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def json_patch(original: dict, operations: list) -> dict:
    """Apply an RFC 6902 JSON patch; raises PatchError on a malformed or failing operation."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a JSON array of operations")
    doc: Any = copy.deepcopy(original)
    for op in operations:
        doc = _apply_operation(doc, op)
    if not isinstance(doc, dict):
        raise PatchError("json patch result is not a JSON object")
    return doc


def _operand(op: dict, field: str) -> Any:
    if field not in op:
        raise PatchError(f"operation {op.get('op')!r} is missing {field}")
    return copy.deepcopy(op[field])


def _apply_operation(doc: Any, op: Any) -> Any:
    if not isinstance(op, dict) or "op" not in op:
        raise PatchError(f"invalid JSON patch operation: {op!r}")
    name = op["op"]
    path = _operand(op, "path")
    if name == "add":
        return _add(doc, path, _operand(op, "value"))
    if name == "remove":
        return _remove(doc, path)[0]
    if name == "replace":
        return _replace(doc, path, _operand(op, "value"))
    if name == "move":
        return _move(doc, _operand(op, "from"), path)
    if name == "copy":
        return _add(doc, path, copy.deepcopy(_get(doc, _operand(op, "from"))))
    if name == "test":
        return _test(doc, path, _operand(op, "value"))
    raise PatchError(f"Unexpected kind: {name}")


def _move(doc: Any, source: str, path: str) -> Any:
    if path != source and path.startswith(source + "/"):
        raise PatchError(f"cannot move {source!r} into its own child {path!r}")
    doc, value = _remove(doc, source)
    return _add(doc, path, value)


def _test(doc: Any, path: str, expected: Any) -> Any:
    if not _json_equal(_get(doc, path), expected):
        raise PatchError(f"testing value {path} failed: test failed")
    return doc


# --- JSON merge patch (RFC 7386) ------------------------------------------------------------------


def merge_patch(original: dict, patch: dict) -> dict:
    """Apply an RFC 7386 JSON merge patch (null deletes, objects merge, the rest replaces)."""
    if not isinstance(patch, dict):
        raise PatchError("merge patch for an object must be a JSON object")
    result = _merge_patch(copy.deepcopy(original) if isinstance(original, dict) else {}, patch)
    return result


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge_patch(target.get(key), value)
    return target


# --- server-side apply (simplified) ---------------------------------------------------------------


def server_side_apply(
    live: dict | None, applied: dict, kind: str, *, last_applied: dict | None = None
) -> dict:
    """Merge an applied configuration over the live object (simplified server-side apply).

    Simplifications against a real API server: there is no field ownership (managedFields)
    and therefore no conflict detection; ``force`` makes no difference. The applied
    configuration is merged over the live object with strategic-merge semantics: maps merge,
    lists with a patch merge key (containers by name, ports, env, ...) merge item by item
    (order of the applied list first, live-only items kept), other lists and scalars are
    replaced. Null values in the applied configuration are ignored. ``live`` None means the
    object does not exist yet.

    Fields absent from the applied configuration are kept, unless ``last_applied`` (what the
    same field manager applied before, if the caller keeps it) had them: those are removed,
    as a real server removes fields a manager stops applying. Without ``last_applied`` they
    are always kept.
    """
    if not isinstance(applied, dict):
        raise PatchError("apply patch must be a JSON object")
    cleaned = _drop_nulls(_strip_directives(applied))
    if live is None:
        return cleaned
    schema = _Schema.for_kind(kind, applied.get("apiVersion") or live.get("apiVersion"))
    result = _merge_map(clone(live), clone(cleaned), schema)
    if isinstance(last_applied, dict):
        _remove_dropped(result, _drop_nulls(_strip_directives(last_applied)), cleaned, schema)
    return result


def _remove_dropped(target: dict, previous: dict, current: dict, schema: _Schema) -> None:
    """Remove from ``target`` what ``previous`` set and ``current`` no longer sets."""
    for key, old in previous.items():
        if key in ("apiVersion", "kind") or key not in target:
            continue
        if key not in current:
            del target[key]
            continue
        new, live = current[key], target[key]
        if isinstance(old, dict) and isinstance(new, dict) and isinstance(live, dict):
            _remove_dropped(live, old, new, schema.sub(key))
            continue
        field = schema.field(key)
        if not (field.strategy == "merge" and isinstance(old, list) and isinstance(new, list)
                and isinstance(live, list)):
            continue
        merge_key = field.merge_key
        kept = {_identity(item, merge_key) for item in new}
        dropped = {_identity(item, merge_key) for item in old} - kept
        target[key] = [item for item in live if _identity(item, merge_key) not in dropped]
        if merge_key:
            for old_item in old:
                ident = _identity(old_item, merge_key)
                if ident not in kept or not isinstance(old_item, dict):
                    continue
                new_item = next(i for i in new if _identity(i, merge_key) == ident)
                live_index = _find(target[key], merge_key, old_item.get(merge_key))
                if live_index is not None and isinstance(new_item, dict):
                    _remove_dropped(target[key][live_index], old_item, new_item,
                                    schema.sub(key))


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value
