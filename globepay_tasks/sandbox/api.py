"""REST semantics of one cluster on top of its :class:`~.store.Store`.

Turns create / replace / patch / apply / delete / scale requests into new objects: parses and
applies the patch, decodes it against the kind's schema (unknown fields, wrong types), applies
server-side defaults, validates, keeps immutable fields, allocates Service cluster IPs and Job
selectors, then writes through the store. ``dry_run`` runs all of it and stores nothing.
Warnings for the response (``fieldValidation=Warn``) are appended to the caller's ``warnings``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from typing import Any

import yaml

from . import defaults as _defaults
from . import patch as _patch
from . import protobuf as _protobuf
from .errors import (
    ApiError,
    bad_request,
    invalid,
    namespace_not_found,
    not_found,
    unsupported_media_type,
)
from .field_validation import check_applied, check_body, check_patched, check_strategic
from .immutable import carry_allocated, validate_update
from .resources import ResourceType
from .selectors import selector_string
from .store import Store, clone
from .validation import validate

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (STRATEGIC, MERGE, JSON_PATCH, APPLY)
SCALABLE = frozenset({"Deployment", "ReplicaSet", "StatefulSet"})


def parse_body(raw: bytes, content_type: str = "application/json",
               owners: _protobuf.OwnerLookup | None = None) -> Any:
    """JSON (or YAML for apply patches and ``application/yaml``, or the protobuf of kubectl's
    typed commands; ``owners`` finds a Job's CronJob) request body -> data."""
    if not raw.strip():
        raise bad_request("the request body is empty")
    if content_type == _protobuf.PROTOBUF:
        try:
            return _protobuf.decode_body(raw, owners)
        except _protobuf.UnsupportedProtobuf as exc:
            raise ApiError(415, "UnsupportedMediaType", str(exc)) from None
        except _protobuf.ProtobufError as exc:
            raise bad_request(f"error decoding protobuf request body: {exc}") from None
    try:
        if content_type in (APPLY, "application/yaml"):
            return _yaml_or_json(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"error decoding request body: {exc}") from None


#: libyaml's parser when PyYAML has it (the same types and values, several times faster).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_or_json(raw: bytes) -> Any:
    """A YAML body; JSON (what kubectl sends as an apply patch, a subset of YAML) decoded as
    JSON."""
    if raw.lstrip()[:1] == b"{":
        with contextlib.suppress(ValueError):
            return json.loads(raw)
    return yaml.load(raw.decode(), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


class ClusterApi:
    """What the HTTP layer calls for every write to one cluster."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: (type, namespace, name, field manager) -> what that manager applied last
        self._applied: dict[tuple[str, str, str, str], dict] = {}
        self._applied_lock = threading.Lock()

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _check_kind(rt: ResourceType, obj: Any) -> dict:
        """``obj`` is an object of ``rt``'s apiVersion and kind (when it names them)."""
        if not isinstance(obj, dict):
            raise bad_request("the body of the request is not a JSON object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if (api_version and api_version != rt.group_version) or (kind and kind != rt.kind):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.group_version})" if api_version != rt.group_version else
                f'the kind in the data ("{kind}") does not match the expected kind ("{rt.kind}")')
        return obj

    def _check_identity(self, rt: ResourceType, obj: Any, namespace: str | None,
                        name: str | None) -> dict:
        obj = self._check_kind(rt, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rt.namespaced:
            sent = meta.get("namespace")
            if sent and namespace and sent != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = namespace or sent or "default"
        if name is not None and meta.get("name") and meta["name"] != name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name "
                              f"on the URL ({name})")
        if name is not None and not meta.get("name"):
            meta["name"] = name
        return obj

    def _prepare(self, rt: ResourceType, obj: dict, uid: str | None = None) -> dict:
        obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
        if uid:
            obj["metadata"]["uid"] = uid  # a Job's generated selector needs it
        return _defaults.apply_defaults(obj)

    # --- verbs ---------------------------------------------------------------------------

    def create(self, rt: ResourceType, body: Any, namespace: str | None, *,
               dry_run: bool = False, field_validation: str | None = None,
               warnings: list[str] | None = None) -> dict:
        """POST a new object."""
        obj = self._check_kind(rt, clone(body))
        check_body(rt, obj, field_validation, warnings)
        return self._create(rt, obj, namespace, dry_run=dry_run)

    def _create(self, rt: ResourceType, obj: dict, namespace: str | None, *,
                dry_run: bool) -> dict:
        obj = self._check_identity(rt, obj, namespace, None)
        meta = obj["metadata"]
        if str(meta.get("resourceVersion") or "0").isdigit() and int(
                meta.get("resourceVersion") or 0):
            # the API server's storage refuses it (an InternalError without a reason)
            raise ApiError(500, "", "resourceVersion should not be set on objects to be "
                           "created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        namespace = meta.get("namespace", "")
        if rt.namespaced and not self.store.namespace_exists(namespace):
            # the NamespaceLifecycle admission runs before the object is validated
            raise namespace_not_found(namespace)
        uid = str(uuid.uuid4())
        obj = self._prepare(rt, obj, uid)
        validate(rt, obj)
        return self.store.create(rt, obj, dry_run=dry_run, uid=uid)

    def replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any, *,
                dry_run: bool = False, subresource: str | None = None,
                field_validation: str | None = None,
                warnings: list[str] | None = None) -> dict:
        """PUT an object (or its status)."""
        obj = self._check_kind(rt, clone(body))
        check_body(rt, obj, field_validation, warnings)
        obj = self._check_identity(rt, obj, namespace, name)
        with self.store.lock:
            live = self.store.peek(rt, namespace, name)
            if live is None:
                raise not_found(rt, name)
            return self._update(rt, live, obj, dry_run=dry_run, subresource=subresource)

    def _update(self, rt: ResourceType, live: dict, obj: dict, *, dry_run: bool,
                subresource: str | None) -> dict:
        if subresource != "status":
            carry_allocated(rt, live, obj)
        obj = self._prepare(rt, obj, live["metadata"].get("uid"))
        if subresource != "status":
            validate(rt, obj)
            validate_update(rt, live, obj)
        return self.store.update(rt, obj, dry_run=dry_run, subresource=subresource)

    def patch(self, rt: ResourceType, namespace: str | None, name: str, content_type: str,
              raw: bytes, *, dry_run: bool = False, subresource: str | None = None,
              field_manager: str | None = None, force: bool = False,
              field_validation: str | None = None,
              warnings: list[str] | None = None) -> tuple[dict, int]:
        """PATCH with any of the four patch types; returns (object, HTTP status)."""
        if content_type not in PATCH_TYPES:
            raise unsupported_media_type(content_type)
        body = parse_body(raw, content_type)
        with self.store.lock:
            live = self.store.peek(rt, namespace, name)
            if content_type == APPLY:
                return self._apply(rt, namespace, name, live, body, dry_run, subresource,
                                   field_manager)
            if live is None:
                raise not_found(rt, name)
            patched = self._apply_patch(rt, live, content_type, body)
            if content_type == STRATEGIC:
                check_strategic(rt, patched, body, field_validation, warnings)
            else:
                check_patched(rt, patched, field_validation, warnings)
            self._check_identity(rt, patched, namespace, name)
            return self._update(rt, live, patched, dry_run=dry_run,
                                subresource=subresource), 200

    def _apply_patch(self, rt: ResourceType, live: dict, content_type: str, body: Any) -> dict:
        try:
            if content_type == JSON_PATCH:
                if not isinstance(body, list):
                    raise bad_request("json patch must be a list of operations")
                result = _patch.json_patch(clone(live), body)
            elif not isinstance(body, dict):
                raise bad_request("patch body must be a JSON object")
            elif content_type == MERGE:
                result = _patch.merge_patch(clone(live), body)
            else:
                result = _patch.strategic_merge(clone(live), body, rt.kind, rt.group_version)
        except _patch.PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from None
        if not isinstance(result, dict):
            raise ApiError(422, "Invalid", "the patch produced something that is not an object")
        return result

    def _apply(self, rt: ResourceType, namespace: str | None, name: str, live: dict | None,
               body: Any, dry_run: bool, subresource: str | None,
               field_manager: str | None) -> tuple[dict, int]:
        if not field_manager:
            raise ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: "
                           "fieldManager: Required value: is required for apply patch")
        if not isinstance(body, dict) or not body.get("apiVersion") or not body.get("kind"):
            raise bad_request("apiVersion and kind must be set in an apply patch")
        check_applied(rt, self._check_kind(rt, body))
        applied = self._check_identity(rt, body, namespace, name)
        memo = (rt.plural, applied["metadata"].get("namespace", ""), name, field_manager)
        with self._applied_lock:
            previous = self._applied.get(memo) if live is not None else None
        try:
            result = _patch.server_side_apply(clone(live) if live else None, clone(applied),
                                              rt.kind, last_applied=previous)
        except _patch.PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from None
        if live is None:
            if subresource:
                raise not_found(rt, name)
            created = self._create(rt, result, namespace, dry_run=dry_run)
            code = 201
        else:
            result.setdefault("metadata", {})["resourceVersion"] = \
                live["metadata"]["resourceVersion"]
            created = self._update(rt, live, result, dry_run=dry_run, subresource=subresource)
            code = 200
        if not dry_run:
            with self._applied_lock:
                self._applied[memo] = applied
        return created, code

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *,
               propagation: str | None = None, dry_run: bool = False) -> dict:
        """DELETE one object (cascading unless Orphan)."""
        return self.store.delete(rt, namespace, name, propagation=propagation, dry_run=dry_run)

    # --- scale subresource ---------------------------------------------------------------

    def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        """The ``autoscaling/v1`` Scale view of a Deployment/ReplicaSet/StatefulSet."""
        obj = self.store.get(rt, namespace, name)
        if obj is None:
            raise not_found(rt, name)
        return scale_of(obj)

    def update_scale(self, rt: ResourceType, namespace: str | None, name: str,
                     content_type: str | None, raw: bytes, *, dry_run: bool = False) -> dict:
        """PUT or PATCH the Scale: only ``spec.replicas`` takes effect."""
        with self.store.lock:
            live = self.store.peek(rt, namespace, name)
            if live is None:
                raise not_found(rt, name)
            current = scale_of(live)
            if content_type is None:
                scale = parse_body(raw)
            else:
                if content_type not in PATCH_TYPES or content_type == APPLY:
                    raise unsupported_media_type(content_type)
                scale = self._apply_patch(rt, current, content_type, parse_body(raw, content_type))
            replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) \
                else None
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid(rt, name, [("spec.replicas", "FieldValueInvalid",
                                          f"Invalid value: {replicas}: must be greater than or "
                                          "equal to 0")])
            sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
            obj = clone(live)
            obj["spec"]["replicas"] = replicas
            if sent_rv:
                obj["metadata"]["resourceVersion"] = sent_rv
            return scale_of(self.store.update(rt, obj, dry_run=dry_run))


def scale_of(obj: dict) -> dict:
    """Build the Scale object for a scalable workload."""
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": selector_string((obj.get("spec") or {}).get("selector"))},
    }
