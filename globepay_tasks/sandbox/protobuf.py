"""Kubernetes protobuf request bodies, decoded into the JSON form the rest of the sandbox uses.

kubectl 1.32 and later send the objects of their typed commands (``create namespace``,
``create configmap``, ``create secret``, ``create serviceaccount``, ``create job``, ...) as
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\x00``, then a ``runtime.Unknown``
envelope whose ``raw`` field holds the object's own message.

:func:`decode_body` understands Namespace, ConfigMap, Secret, ServiceAccount, Job and
SelfSubjectAccessReview (``kubectl auth can-i``). The field numbers come from the
generated.proto files of k8s.io/api (core/v1, batch/v1, authorization/v1) and
k8s.io/apimachinery (meta/v1, runtime), cross-checked against the ``protobuf:"..."`` struct
tags of the Go types (which also say which fields are pointers and which JSON names lack
``omitempty``) and against bodies captured from kubectl 1.32 and 1.37. Go's semantics are
reproduced: a non-pointer scalar is always on the wire and means "absent" when zero (unless its
JSON name lacks ``omitempty``); a pointer scalar is on the wire only when set, zero or not; a
struct is always on the wire (``{}`` when empty); a zero ``metav1.Time`` is an empty message
and is left out; ``[]byte`` becomes base64.

A field number missing from a table is an error naming the message and the number, never
silently dropped - with one shortcut. A PodSpec has over a hundred nested message types; only a
verified subset is decoded (PodSpec's scalars, tolerations and image pull secrets; containers'
names, images, commands, args, env, ports and volume mounts). Unknown numbers in the
:data:`PARTIAL` messages (PodSpec, Container, EnvVarSource) are collected instead; the Job's pod
spec is then taken whole from the CronJob named in its controller ``ownerReferences``
(``spec.jobTemplate.spec.template.spec``, which ``kubectl create job --from=cronjob/NAME``
copies), after checking that every decoded field agrees with it. kubectl always sends a
container's ``resources`` (field 8), so its Jobs always take this path; a Job with such fields
and no such CronJob is refused (:class:`UnsupportedProtobuf`).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

VARINT, I64, LEN, I32 = 0, 1, 2, 5

#: ``(apiVersion, kind, name)`` -> the object in the request's namespace, or None.
OwnerLookup = Callable[[str, str, str], dict | None]


class ProtobufError(ValueError):
    """The body is not well-formed protobuf (a real server answers 400 too)."""


class UnsupportedProtobuf(ProtobufError):
    """Well-formed, but holding a kind or field the sandbox cannot decode (answer 415)."""


# --- wire format ------------------------------------------------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of each field: an int for varint and fixed32/64
    (little-endian, unsigned), bytes for length-delimited. Groups are refused."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > len(buf):
                raise ProtobufError(f"truncated fixed{size * 8} field {number}")
            value = int.from_bytes(buf[pos:pos + size], "little")
            pos += size
        elif wire == LEN:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufError(f"field {number} runs past the end of its message")
            value = bytes(buf[pos:pos + size])
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {wire} (field {number})")
        yield number, wire, value


def signed64(value: int) -> int:
    """A varint as Go's int32/int64 (negative numbers are 10-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


# --- message tables ---------------------------------------------------------------------------

STRING, BYTES, BOOL, INT, TIME, JSON, MAP = "string", "bytes", "bool", "int", "time", "json", "map"
_SCALARS = frozenset({STRING, BYTES, BOOL, INT})


class Field(NamedTuple):
    """One field of a message: its JSON name and how its value is decoded.

    ``kind`` is a scalar (``string``, ``bytes``, ``bool``, ``int``), ``time`` (metav1.Time),
    ``json`` (metav1.FieldsV1, raw JSON), ``map`` (entries ``key = 1``, ``value = 2``; the value
    kind in ``value``) or the name of another message. ``pointer``: a Go pointer (kept even when
    zero); ``always``: a JSON name without ``omitempty``; ``inline``: an embedded struct whose
    fields belong to the parent.
    """

    json: str
    kind: str
    repeated: bool = False
    pointer: bool = False
    always: bool = False
    inline: bool = False
    value: str = STRING


def _f(json_name: str, kind: str = STRING, **flags: Any) -> Field:
    """A table entry (a string field unless ``kind`` says otherwise)."""
    return Field(json_name, kind, **flags)


_META = "ObjectMeta"

MESSAGES: dict[str, dict[int, Field]] = {
    # k8s.io/apimachinery/pkg/runtime
    "runtime.Unknown": {1: _f("typeMeta", "runtime.TypeMeta"), 2: _f("raw", BYTES),
                        3: _f("contentEncoding"), 4: _f("contentType")},
    "runtime.TypeMeta": {1: _f("apiVersion"), 2: _f("kind")},
    # k8s.io/apimachinery/pkg/apis/meta/v1
    _META: {
        1: _f("name"), 2: _f("generateName"), 3: _f("namespace"), 4: _f("selfLink"),
        5: _f("uid"), 6: _f("resourceVersion"), 7: _f("generation", INT),
        8: _f("creationTimestamp", TIME), 9: _f("deletionTimestamp", TIME),
        10: _f("deletionGracePeriodSeconds", INT, pointer=True),
        11: _f("labels", MAP), 12: _f("annotations", MAP),
        13: _f("ownerReferences", "OwnerReference", repeated=True),
        14: _f("finalizers", repeated=True),
        17: _f("managedFields", "ManagedFieldsEntry", repeated=True),
    },
    "OwnerReference": {
        5: _f("apiVersion", always=True), 1: _f("kind", always=True),
        3: _f("name", always=True), 4: _f("uid", always=True),
        6: _f("controller", BOOL, pointer=True), 7: _f("blockOwnerDeletion", BOOL, pointer=True),
    },
    "ManagedFieldsEntry": {
        1: _f("manager"), 2: _f("operation"), 3: _f("apiVersion"), 4: _f("time", TIME),
        6: _f("fieldsType"), 7: _f("fieldsV1", JSON), 8: _f("subresource"),
    },
    "LabelSelector": {1: _f("matchLabels", MAP),
                      2: _f("matchExpressions", "LabelSelectorRequirement", repeated=True)},
    "LabelSelectorRequirement": {1: _f("key", always=True), 2: _f("operator", always=True),
                                 3: _f("values", repeated=True)},
    # k8s.io/api/core/v1
    "Namespace": {1: _f("metadata", _META), 2: _f("spec", "NamespaceSpec"),
                  3: _f("status", "NamespaceStatus")},
    "NamespaceSpec": {1: _f("finalizers", repeated=True)},
    "NamespaceStatus": {1: _f("phase"),
                        2: _f("conditions", "NamespaceCondition", repeated=True)},
    "NamespaceCondition": {1: _f("type", always=True), 2: _f("status", always=True),
                           4: _f("lastTransitionTime", TIME), 5: _f("reason"),
                           6: _f("message")},
    "ConfigMap": {1: _f("metadata", _META), 2: _f("data", MAP),
                  3: _f("binaryData", MAP, value=BYTES), 4: _f("immutable", BOOL, pointer=True)},
    "Secret": {1: _f("metadata", _META), 2: _f("data", MAP, value=BYTES), 3: _f("type"),
               4: _f("stringData", MAP), 5: _f("immutable", BOOL, pointer=True)},
    "ServiceAccount": {
        1: _f("metadata", _META), 2: _f("secrets", "ObjectReference", repeated=True),
        3: _f("imagePullSecrets", "LocalObjectReference", repeated=True),
        4: _f("automountServiceAccountToken", BOOL, pointer=True),
    },
    "ObjectReference": {1: _f("kind"), 2: _f("namespace"), 3: _f("name"), 4: _f("uid"),
                        5: _f("apiVersion"), 6: _f("resourceVersion"), 7: _f("fieldPath")},
    "LocalObjectReference": {1: _f("name")},
    "PodTemplateSpec": {1: _f("metadata", _META), 2: _f("spec", "PodSpec")},
    "PodSpec": {  # partial: see the module docstring
        2: _f("containers", "Container", repeated=True),
        20: _f("initContainers", "Container", repeated=True),
        3: _f("restartPolicy"), 4: _f("terminationGracePeriodSeconds", INT, pointer=True),
        5: _f("activeDeadlineSeconds", INT, pointer=True), 6: _f("dnsPolicy"),
        7: _f("nodeSelector", MAP), 8: _f("serviceAccountName"), 9: _f("serviceAccount"),
        10: _f("nodeName"), 11: _f("hostNetwork", BOOL), 12: _f("hostPID", BOOL),
        13: _f("hostIPC", BOOL), 15: _f("imagePullSecrets", "LocalObjectReference", repeated=True),
        16: _f("hostname"), 17: _f("subdomain"), 19: _f("schedulerName"),
        21: _f("automountServiceAccountToken", BOOL, pointer=True),
        22: _f("tolerations", "Toleration", repeated=True), 24: _f("priorityClassName"),
        25: _f("priority", INT, pointer=True), 27: _f("shareProcessNamespace", BOOL, pointer=True),
        29: _f("runtimeClassName", pointer=True), 30: _f("enableServiceLinks", BOOL, pointer=True),
        31: _f("preemptionPolicy", pointer=True), 35: _f("setHostnameAsFQDN", BOOL, pointer=True),
        37: _f("hostUsers", BOOL, pointer=True), 41: _f("hostnameOverride", pointer=True),
    },
    "Container": {  # partial: see the module docstring
        1: _f("name", always=True), 2: _f("image"), 3: _f("command", repeated=True),
        4: _f("args", repeated=True), 5: _f("workingDir"),
        6: _f("ports", "ContainerPort", repeated=True), 7: _f("env", "EnvVar", repeated=True),
        9: _f("volumeMounts", "VolumeMount", repeated=True), 13: _f("terminationMessagePath"),
        14: _f("imagePullPolicy"), 16: _f("stdin", BOOL), 17: _f("stdinOnce", BOOL),
        18: _f("tty", BOOL), 20: _f("terminationMessagePolicy"),
        24: _f("restartPolicy", pointer=True),
    },
    "ContainerPort": {1: _f("name"), 2: _f("hostPort", INT),
                      3: _f("containerPort", INT, always=True), 4: _f("protocol"),
                      5: _f("hostIP")},
    "EnvVar": {1: _f("name", always=True), 2: _f("value"), 3: _f("valueFrom", "EnvVarSource")},
    "EnvVarSource": {  # partial: see the module docstring
        1: _f("fieldRef", "ObjectFieldSelector"), 3: _f("configMapKeyRef", "KeySelector"),
        4: _f("secretKeyRef", "KeySelector"),
    },
    "ObjectFieldSelector": {1: _f("apiVersion"), 2: _f("fieldPath", always=True)},
    # ConfigMapKeySelector and SecretKeySelector have the same fields
    "KeySelector": {1: _f("", "LocalObjectReference", inline=True), 2: _f("key", always=True),
                    3: _f("optional", BOOL, pointer=True)},
    "VolumeMount": {1: _f("name", always=True), 2: _f("readOnly", BOOL),
                    3: _f("mountPath", always=True), 4: _f("subPath"),
                    5: _f("mountPropagation", pointer=True), 6: _f("subPathExpr"),
                    7: _f("recursiveReadOnly", pointer=True),
                    8: _f("bindMountOptions", repeated=True)},
    "Toleration": {1: _f("key"), 2: _f("operator"), 3: _f("value"), 4: _f("effect"),
                   5: _f("tolerationSeconds", INT, pointer=True)},
    # k8s.io/api/batch/v1
    "Job": {1: _f("metadata", _META), 2: _f("spec", "JobSpec"), 3: _f("status", "JobStatus")},
    "JobSpec": {
        1: _f("parallelism", INT, pointer=True), 2: _f("completions", INT, pointer=True),
        3: _f("activeDeadlineSeconds", INT, pointer=True),
        4: _f("selector", "LabelSelector"), 5: _f("manualSelector", BOOL, pointer=True),
        6: _f("template", "PodTemplateSpec"), 7: _f("backoffLimit", INT, pointer=True),
        8: _f("ttlSecondsAfterFinished", INT, pointer=True),
        9: _f("completionMode", pointer=True), 10: _f("suspend", BOOL, pointer=True),
        11: _f("podFailurePolicy", "PodFailurePolicy"),
        12: _f("backoffLimitPerIndex", INT, pointer=True),
        13: _f("maxFailedIndexes", INT, pointer=True),
        14: _f("podReplacementPolicy", pointer=True), 15: _f("managedBy", pointer=True),
        16: _f("successPolicy", "SuccessPolicy"),
    },
    "PodFailurePolicy": {1: _f("rules", "PodFailurePolicyRule", repeated=True)},
    "PodFailurePolicyRule": {
        1: _f("action", always=True),
        2: _f("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
        3: _f("onPodConditions", "PodFailurePolicyOnPodConditionsPattern", repeated=True),
    },
    "PodFailurePolicyOnExitCodesRequirement": {
        1: _f("containerName", pointer=True), 2: _f("operator", always=True),
        3: _f("values", INT, repeated=True),
    },
    "PodFailurePolicyOnPodConditionsPattern": {1: _f("type", always=True),
                                               2: _f("status", always=True)},
    "SuccessPolicy": {1: _f("rules", "SuccessPolicyRule", repeated=True)},
    "SuccessPolicyRule": {1: _f("succeededIndexes", pointer=True),
                          2: _f("succeededCount", INT, pointer=True)},
    "JobStatus": {
        1: _f("conditions", "JobCondition", repeated=True), 2: _f("startTime", TIME),
        3: _f("completionTime", TIME), 4: _f("active", INT), 5: _f("succeeded", INT),
        6: _f("failed", INT), 7: _f("completedIndexes"),
        8: _f("uncountedTerminatedPods", "UncountedTerminatedPods"),
        9: _f("ready", INT, pointer=True), 10: _f("failedIndexes", pointer=True),
        11: _f("terminating", INT, pointer=True),
    },
    "JobCondition": {1: _f("type", always=True), 2: _f("status", always=True),
                     3: _f("lastProbeTime", TIME), 4: _f("lastTransitionTime", TIME),
                     5: _f("reason"), 6: _f("message")},
    "UncountedTerminatedPods": {1: _f("succeeded", repeated=True),
                                2: _f("failed", repeated=True)},
    # k8s.io/api/authorization/v1 (``kubectl auth can-i``)
    "SelfSubjectAccessReview": {1: _f("metadata", _META),
                                2: _f("spec", "SelfSubjectAccessReviewSpec", always=True),
                                3: _f("status", "SubjectAccessReviewStatus")},
    "SelfSubjectAccessReviewSpec": {1: _f("resourceAttributes", "ResourceAttributes"),
                                    2: _f("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: _f("namespace"), 2: _f("verb"), 3: _f("group"), 4: _f("version"),
                           5: _f("resource"), 6: _f("subresource"), 7: _f("name")},
    "NonResourceAttributes": {1: _f("path"), 2: _f("verb")},
    "SubjectAccessReviewStatus": {1: _f("allowed", BOOL, always=True), 4: _f("denied", BOOL),
                                  2: _f("reason"), 3: _f("evaluationError")},
}

#: Messages whose unknown field numbers are taken from a Job's CronJob instead of refused.
PARTIAL = frozenset({"PodSpec", "Container", "EnvVarSource"})

#: ``(apiVersion, kind)`` of the objects :func:`decode_body` accepts -> their message.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("batch/v1", "Job"): "Job",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
}

_ZERO: dict[str, Any] = {STRING: "", BYTES: "", BOOL: False, INT: 0}
_EPOCH = datetime(1970, 1, 1)


# --- decoding ---------------------------------------------------------------------------------


def decode_message(message: str, buf: bytes, path: str = "",
                   skipped: list[str] | None = None) -> dict[str, Any]:
    """Message ``message`` -> its JSON object (Go's encoding of the same struct).

    A field number unknown to the table raises :class:`UnsupportedProtobuf`, except in the
    :data:`PARTIAL` messages, where it is appended to ``skipped`` (``"PodSpec field 14 at
    spec.template.spec"``) when that list is given.
    """
    table = MESSAGES[message]
    out: dict[str, Any] = {}
    for number, wire, raw in _fields(buf, f"{message} at {path or '.'}"):
        field = table.get(number)
        if field is None:
            where = f"{message} field {number} at {path or '.'}"
            if message in PARTIAL and skipped is not None:
                skipped.append(where)
                continue
            raise UnsupportedProtobuf(f"the sandbox cannot decode {where}")
        here = f"{path}.{field.json}" if path and field.json else path or field.json
        if field.kind == MAP:
            key, value = _map_entry(field, _expect_len(raw, message, number), here)
            out.setdefault(field.json, {})[key] = value
        elif field.repeated:
            items = out.setdefault(field.json, [])
            for item_wire, item in _repeated(field, wire, raw):
                items.append(_value(field, item_wire, item, f"{here}[{len(items)}]", message,
                                    number, skipped))
        elif field.inline:
            out.update(_value(field, wire, raw, here, message, number, skipped))
        else:
            value = _value(field, wire, raw, here, message, number, skipped)
            if _kept(field, value):
                out[field.json] = value
            else:
                out.pop(field.json, None)
    return out


def _fields(buf: bytes, where: str) -> list[tuple[int, int, int | bytes]]:
    """:func:`iter_fields`, with errors saying which message was malformed."""
    try:
        return list(iter_fields(buf))
    except ProtobufError as exc:
        raise ProtobufError(f"{where}: {exc}") from None


def _kept(field: Field, value: Any) -> bool:
    """Would Go's JSON encoding write this value (``omitempty``, pointers, structs)?"""
    if value is None:
        return False
    if field.pointer or field.always or field.kind not in _SCALARS:
        return True
    return bool(value != _ZERO[field.kind])


def _expect_len(raw: int | bytes, message: str, number: int) -> bytes:
    if not isinstance(raw, bytes):
        raise ProtobufError(f"{message} field {number}: expected a length-delimited value")
    return raw


def _repeated(field: Field, wire: int, raw: int | bytes) -> list[tuple[int, int | bytes]]:
    """The elements one occurrence of a repeated field holds (several if packed)."""
    if field.kind in (INT, BOOL) and wire == LEN and isinstance(raw, bytes):
        values: list[tuple[int, int | bytes]] = []
        pos = 0
        while pos < len(raw):
            value, pos = read_varint(raw, pos)
            values.append((VARINT, value))
        return values
    return [(wire, raw)]


def _value(field: Field, wire: int, raw: int | bytes, path: str, message: str, number: int,
           skipped: list[str] | None) -> Any:
    kind = field.kind
    if kind in (INT, BOOL):
        if wire != VARINT or not isinstance(raw, int):
            raise ProtobufError(f"{message} field {number}: expected a varint")
        return bool(raw) if kind == BOOL else signed64(raw)
    data = _expect_len(raw, message, number)
    if kind == STRING:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtobufError(f"{message} field {number}: invalid UTF-8") from None
    if kind == BYTES:
        return base64.b64encode(data).decode("ascii")
    if kind == TIME:
        return _time(data)
    if kind == JSON:
        return decode_fields_v1(data)
    return decode_message(kind, data, path, skipped)


def _map_entry(field: Field, data: bytes, path: str) -> tuple[str, Any]:
    """One ``key = 1, value = 2`` entry of a map field."""
    key, value = "", _ZERO[field.value]
    for number, wire, raw in _fields(data, f"map entry at {path}"):
        if number not in (1, 2):
            raise UnsupportedProtobuf(f"the sandbox cannot decode map entry field {number} at "
                                      f"{path}")
        entry = Field("key" if number == 1 else "value", STRING if number == 1 else field.value)
        decoded = _value(entry, wire, raw, path, f"{field.json} entry", number, None)
        if number == 1:
            key = decoded
        else:
            value = decoded
    return key, value


def _time(data: bytes) -> str | None:
    """metav1.Time -> RFC 3339 in UTC, seconds precision (as Go unmarshals it); zero -> None."""
    if not data:
        return None
    seconds = 0
    for number, wire, raw in _fields(data, "Time"):
        if number not in (1, 2):
            raise UnsupportedProtobuf(f"the sandbox cannot decode Time field {number}")
        if wire != VARINT or not isinstance(raw, int):
            raise ProtobufError(f"Time field {number}: expected a varint")
        if number == 1:  # nanos (2) are dropped, as the API server does
            seconds = signed64(raw)
    try:
        moment = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"time out of range: {seconds} s") from None
    return moment.isoformat() + "Z"


def decode_fields_v1(data: bytes) -> Any:
    """metav1.FieldsV1 (``Raw = 1``: a JSON document) -> that document."""
    raw = b""
    for number, wire, value in _fields(data, "FieldsV1"):
        if number != 1 or wire != LEN or not isinstance(value, bytes):
            raise UnsupportedProtobuf(f"the sandbox cannot decode FieldsV1 field {number}")
        raw = value
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise ProtobufError("FieldsV1 does not hold JSON") from None


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """``k8s\\x00`` + runtime.Unknown -> ``(apiVersion, kind, raw)``."""
    if not body.startswith(MAGIC):
        raise ProtobufError(f"provided data does not appear to be a protobuf message, "
                            f"expected prefix {list(MAGIC)}")
    if len(body) == len(MAGIC):
        raise ProtobufError("empty body")
    envelope = decode_message("runtime.Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta", {})
    raw = base64.b64decode(envelope.get("raw", ""))
    return type_meta.get("apiVersion", ""), type_meta.get("kind", ""), raw


def decode_object(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """A protobuf body -> ``(object with apiVersion and kind, fields left undecoded)``."""
    api_version, kind, raw = unwrap(body)
    message = KINDS.get((api_version, kind))
    if message is None:
        raise UnsupportedProtobuf(f"the sandbox cannot decode protobuf bodies of "
                                  f"{api_version or '?'} {kind or '?'}; send JSON instead")
    skipped: list[str] = []
    obj = {"apiVersion": api_version, "kind": kind, **decode_message(message, raw, "", skipped)}
    return obj, skipped


def decode_body(body: bytes, owners: OwnerLookup | None = None) -> dict[str, Any]:
    """A protobuf request body -> the object; see the module docstring for the Job shortcut.

    ``owners`` finds a Job's CronJob in the request's namespace. Raises
    :class:`UnsupportedProtobuf` (answer 415) or :class:`ProtobufError` (answer 400).
    """
    obj, skipped = decode_object(body)
    if skipped:
        _pod_spec_from_cronjob(obj, skipped, owners)
    return obj


def _pod_spec_from_cronjob(job: dict[str, Any], skipped: list[str],
                           owners: OwnerLookup | None) -> None:
    meta = job.get("metadata", {})
    refs = [r for r in meta.get("ownerReferences", []) if r.get("controller")
            and (r.get("apiVersion"), r.get("kind")) == ("batch/v1", "CronJob")]
    why = f"the sandbox cannot decode {skipped[0]}"
    if job.get("kind") != "Job" or not refs:
        raise UnsupportedProtobuf(f"{why} (only a Job created from a CronJob can take it from "
                                  f"that CronJob)")
    ref = refs[0]
    cronjob = owners("batch/v1", "CronJob", ref["name"]) if owners is not None else None
    if cronjob is None or cronjob.get("metadata", {}).get("uid") != ref.get("uid"):
        raise UnsupportedProtobuf(f"{why}, and the owner CronJob {ref['name']} (uid "
                                  f"{ref.get('uid')}) to take it from is not there")
    source: Any = cronjob
    for key in ("spec", "jobTemplate", "spec", "template", "spec"):
        source = source.get(key) if isinstance(source, dict) else None
    where = "spec.template.spec"
    disagreement = _disagreement(job["spec"]["template"]["spec"], source, where)
    if not isinstance(source, dict) or disagreement is not None:
        raise UnsupportedProtobuf(f"{why}, and the pod spec sent does not match the one of "
                                  f"CronJob {ref['name']} at {disagreement or where}")
    job["spec"]["template"]["spec"] = copy.deepcopy(source)


def _disagreement(decoded: Any, source: Any, path: str) -> str | None:
    """Where ``source`` lacks or differs from a decoded value (None: it agrees)."""
    if isinstance(decoded, dict):
        if not decoded:
            return None if source is None or isinstance(source, dict) else path
        if not isinstance(source, dict):
            return path
        for key, value in decoded.items():
            found = _disagreement(value, source.get(key), f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(decoded, list):
        if not isinstance(source, list) or len(source) != len(decoded):
            return path
        for index, (mine, theirs) in enumerate(zip(decoded, source, strict=True)):
            found = _disagreement(mine, theirs, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if decoded == source and type(decoded) is type(source) else path
