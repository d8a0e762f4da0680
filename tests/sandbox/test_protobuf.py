"""The protobuf decoder of the sandbox: real kubectl request bodies, hand-built messages, errors.

The ``bytes.fromhex`` fixtures are request bodies captured from kubectl 1.37.1 against the
sandbox (kubectl 1.32.5 sends the same bytes; the Job differs only in the CronJob's uid).
"""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.protobuf import (
    MAGIC,
    PROTOBUF,
    ProtobufError,
    UnsupportedProtobuf,
    decode_body,
    decode_message,
    decode_object,
    iter_fields,
    read_varint,
)

# kubectl create namespace shop
NAMESPACE = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d657370616365121c0a140a0473686f7012001a0022002a003200380042"
    "0012001a020a001a002200"
)
# kubectl create configmap cfg -n shop --from-literal=a=b --from-literal=c=d
CONFIGMAP = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d617012290a170a0363666712001a0473686f7022002a003200"
    "3800420012060a016112016212060a01631201641a002200"
)
# kubectl create secret generic sec -n shop --from-literal=user=admin
SECRET = bytes.fromhex(
    "6b3873000a0c0a0276311206536563726574122a0a170a0373656312001a0473686f7022002a003200380042"
    "00120d0a0475736572120561646d696e1a001a002200"
)
# kubectl create serviceaccount robot -n shop
SERVICEACCOUNT = bytes.fromhex(
    "6b3873000a140a027631120e536572766963654163636f756e74121b0a190a05726f626f7412001a0473686f"
    "7022002a003200380042001a002200"
)
# kubectl create configmap bin -n shop --from-file=b.bin=<00 ff 10> --from-literal=k=v
CONFIGMAP_BINARY = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d6170122f0a170a0362696e12001a0473686f7022002a003200"
    "3800420012060a016b1201761a0c0a05622e62696e120300ff101a002200"
)
# kubectl create secret generic tls -n shop --type=example.com/x --from-literal=a=1
#   --from-literal=b=2
SECRET_TYPED = bytes.fromhex(
    "6b3873000a0c0a027631120653656372657412380a170a03746c7312001a0473686f7022002a003200380042"
    "0012060a016112013112060a01621201321a0d6578616d706c652e636f6d2f781a002200"
)
# kubectl create job manual-1 -n shop --from=cronjob/nightly (CRONJOB below, uid CRONJOB_UID)
JOB_FROM_CRONJOB = bytes.fromhex(
    "6b3873000a0f0a0862617463682f763112034a6f62129f020a9e010a086d616e75616c2d3112001a0473686f"
    "7022002a003200380042005a0d0a0361707012067265706f7274622b0a2163726f6e6a6f622e6b756265726e"
    "657465732e696f2f696e7374616e746961746512066d616e75616c6a440a0743726f6e4a6f621a076e696768"
    "746c79222430313164643130352d336439382d343332612d626237322d3166663433646430366161342a0862"
    "617463682f763130011272326e0a100a0012001a0022002a00320038004200125a12370a067265706f727412"
    "126578616d706c652f7265706f72743a312e3222052d2d616c6c2a0042006a007200800100880100900100a2"
    "01001a054e65766572320042004a0052005800600068008201008a01009a0100c2010038021a082000280030"
    "003a001a002200"
)
CRONJOB_UID = "011dd105-3d98-432a-bb72-1ff43dd06aa4"
POD_SPEC = {"restartPolicy": "Never",
            "containers": [{"name": "report", "image": "example/report:1.2", "args": ["--all"]}]}
CRONJOB = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "nightly", "namespace": "shop", "uid": CRONJOB_UID},
    "spec": {"schedule": "0 3 * * *", "jobTemplate": {
        "metadata": {"labels": {"app": "report"}},
        "spec": {"backoffLimit": 2, "template": {"spec": POD_SPEC}}}},
}


# --- a tiny encoder for hand-built messages ---------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: int | bool | str | bytes) -> bytes:
    if isinstance(value, (bool, int)):
        return varint(number << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: str | bytes) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return MAGIC + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


def meta(**extra: bytes) -> bytes:
    return field(1, "x") + field(3, "shop") + b"".join(extra.values())


# --- captured kubectl bodies ------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    (NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"},
                 "spec": {}, "status": {}}),
    (CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cfg", "namespace": "shop"},
                 "data": {"a": "b", "c": "d"}}),
    (CONFIGMAP_BINARY, {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "bin", "namespace": "shop"},
                        "data": {"k": "v"}, "binaryData": {"b.bin": "AP8Q"}}),
    (SECRET, {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "sec", "namespace": "shop"},
              "data": {"user": "YWRtaW4="}}),
    (SECRET_TYPED, {"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "tls", "namespace": "shop"},
                    "data": {"a": "MQ==", "b": "Mg=="}, "type": "example.com/x"}),
    (SERVICEACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "robot", "namespace": "shop"}}),
], ids=["namespace", "configmap", "configmap-binary", "secret", "secret-typed", "sa"])
def test_captured_kubectl_bodies_decode_to_what_kubectl_would_send_as_json(
        body: bytes, expected: dict) -> None:
    assert decode_body(body) == expected
    assert decode_object(body) == (expected, [])


def test_job_from_cronjob_decodes_metadata_and_spec_and_names_what_it_skipped() -> None:
    job, skipped = decode_object(JOB_FROM_CRONJOB)
    assert skipped == ["Container field 8 at spec.template.spec.containers[0]"]  # resources
    assert job == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": "manual-1", "namespace": "shop", "labels": {"app": "report"},
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                                 "uid": CRONJOB_UID, "controller": True}],
        },
        "spec": {"backoffLimit": 2,
                 "template": {"metadata": {}, "spec": {
                     "restartPolicy": "Never",
                     "containers": [{"name": "report", "image": "example/report:1.2",
                                     "args": ["--all"]}]}}},
        "status": {},
    }


def _owners(cronjob: dict | None) -> Any:
    def find(api_version: str, kind: str, name: str) -> dict | None:
        assert (api_version, kind, name) == ("batch/v1", "CronJob", "nightly")
        return cronjob
    return find


def test_job_from_cronjob_takes_the_pod_spec_from_its_cronjob() -> None:
    source = {**POD_SPEC, "containers": [{**POD_SPEC["containers"][0],
                                          "resources": {"limits": {"cpu": "1"}}}]}
    cronjob = {**CRONJOB, "spec": {"jobTemplate": {"spec": {"template": {"spec": source}}}}}
    job = decode_body(JOB_FROM_CRONJOB, _owners(cronjob))
    assert job["spec"]["template"]["spec"] == source
    assert job["spec"]["template"]["spec"] is not source
    assert job["spec"]["backoffLimit"] == 2  # decoded, not copied


@pytest.mark.parametrize(("cronjob", "message"), [
    (None, "owner CronJob nightly (uid 011dd105"),
    ({**CRONJOB, "metadata": {"name": "nightly", "uid": "other"}}, "is not there"),
    ({**CRONJOB, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        **POD_SPEC, "containers": [{"name": "report", "image": "example/report:2.0"}]}}}}}},
     "does not match the one of CronJob nightly at spec.template.spec.containers[0].image"),
    ({**CRONJOB, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        **POD_SPEC, "restartPolicy": "OnFailure"}}}}}},
     "at spec.template.spec.restartPolicy"),
    ({**CRONJOB, "spec": {}}, "at spec.template.spec"),
], ids=["missing", "other-uid", "other-image", "other-restart-policy", "no-template"])
def test_job_pod_spec_is_refused_without_a_matching_cronjob(cronjob: dict | None,
                                                             message: str) -> None:
    with pytest.raises(UnsupportedProtobuf, match="Container field 8") as caught:
        decode_body(JOB_FROM_CRONJOB, _owners(cronjob))
    assert message in str(caught.value)


def test_job_without_cronjob_owner_and_undecodable_pod_spec_is_refused() -> None:
    container = field(1, "c") + field(2, "busybox") + field(8, b"")  # resources: {}
    pod = field(2, container) + field(3, "Never")
    job = field(1, meta()) + field(2, field(6, field(1, b"") + field(2, pod)))
    with pytest.raises(UnsupportedProtobuf, match=r"Container field 8 at spec\.template\.spec"
                       r"\.containers\[0\] \(only a Job created from a CronJob"):
        decode_body(envelope("batch/v1", "Job", job))


# --- hand-built messages: every field kind ----------------------------------------------------


def test_object_meta_fields() -> None:
    owner = (field(1, "CronJob") + field(3, "nightly") + field(4, "u-1") + field(5, "batch/v1")
             + field(6, False) + field(7, True))
    managed = (field(1, "kubectl") + field(2, "Update") + field(3, "v1")
               + field(4, field(1, 1700000000)) + field(6, "FieldsV1")
               + field(7, field(1, b'{"f:data":{}}')))
    raw = field(1, meta(
        generate=field(2, "x-"), uid=field(5, "abc"), rv=field(6, "12"), gen=field(7, 3),
        created=field(8, field(1, 0) + field(2, 999)), grace=field(10, 0),
        labels=entry(11, "app", "web") + entry(11, "tier", ""), notes=entry(12, "a", "b"),
        owner=field(13, owner), fin=field(14, "f1") + field(14, "f2"),
        managed=field(17, managed)))
    decoded = decode_message("ConfigMap", raw)["metadata"]
    assert decoded == {
        "name": "x", "generateName": "x-", "namespace": "shop", "uid": "abc",
        "resourceVersion": "12", "generation": 3, "creationTimestamp": "1970-01-01T00:00:00Z",
        "deletionGracePeriodSeconds": 0, "labels": {"app": "web", "tier": ""},
        "annotations": {"a": "b"},
        "ownerReferences": [{"kind": "CronJob", "name": "nightly", "uid": "u-1",
                             "apiVersion": "batch/v1", "controller": False,
                             "blockOwnerDeletion": True}],
        "finalizers": ["f1", "f2"],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2023-11-14T22:13:20Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}}],
    }


def test_kind_fields_with_pointers_kept_when_zero() -> None:
    sa = (field(1, meta()) + field(2, field(1, "Secret") + field(3, "token"))
          + field(3, field(1, "registry")) + field(4, False))
    assert decode_message("ServiceAccount", sa) == {
        "metadata": {"name": "x", "namespace": "shop"},
        "secrets": [{"kind": "Secret", "name": "token"}],
        "imagePullSecrets": [{"name": "registry"}], "automountServiceAccountToken": False}
    cm = field(1, meta()) + entry(3, "blob", b"\x00\x01") + field(4, False)
    assert decode_message("ConfigMap", cm) == {
        "metadata": {"name": "x", "namespace": "shop"}, "binaryData": {"blob": "AAE="},
        "immutable": False}
    secret = field(1, meta()) + entry(4, "plain", "text") + field(3, "Opaque") + field(5, True)
    assert decode_message("Secret", secret) == {
        "metadata": {"name": "x", "namespace": "shop"}, "stringData": {"plain": "text"},
        "type": "Opaque", "immutable": True}
    ns = field(1, meta()) + field(2, field(1, "kubernetes")) + field(3, field(1, "Active"))
    assert decode_message("Namespace", ns)["spec"] == {"finalizers": ["kubernetes"]}


def test_job_spec_scalars_selector_and_policies() -> None:
    exit_codes = field(1, "main") + field(2, "In") + field(3, varint(1) + varint(42))  # packed
    rule = field(1, "FailJob") + field(2, exit_codes)
    spec = (field(1, 0) + field(3, -1) + field(5, True) + field(9, "Indexed") + field(10, False)
            + field(4, entry(1, "app", "x") + field(2, field(1, "k") + field(2, "Exists")))
            + field(11, field(1, rule)) + field(16, field(1, field(2, 3))))
    assert decode_message("JobSpec", spec) == {
        "parallelism": 0, "activeDeadlineSeconds": -1, "manualSelector": True,
        "completionMode": "Indexed", "suspend": False,
        "selector": {"matchLabels": {"app": "x"},
                     "matchExpressions": [{"key": "k", "operator": "Exists"}]},
        "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
            "containerName": "main", "operator": "In", "values": [1, 42]}}]},
        "successPolicy": {"rules": [{"succeededCount": 3}]},
    }


def test_pod_spec_subset() -> None:
    env_from = field(3, field(1, field(1, "cfg")) + field(2, "key") + field(3, True))
    container = (field(1, "app") + field(2, "nginx") + field(3, "sh") + field(5, "")
                 + field(6, field(3, 80) + field(4, "TCP"))
                 + field(7, field(1, "A") + field(2, "1"))
                 + field(7, field(1, "B") + field(3, env_from))
                 + field(9, field(1, "data") + field(3, "/data") + field(2, True))
                 + field(16, False))
    pod = (field(2, container) + field(4, 0) + field(11, True) + entry(7, "disk", "ssd")
           + field(22, field(1, "k") + field(5, 300)))
    assert decode_message("PodSpec", pod) == {
        "containers": [{"name": "app", "image": "nginx", "command": ["sh"],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"},
                                {"name": "B", "valueFrom": {"configMapKeyRef": {
                                    "name": "cfg", "key": "key", "optional": True}}}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data",
                                          "readOnly": True}]}],
        "terminationGracePeriodSeconds": 0, "hostNetwork": True, "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "k", "tolerationSeconds": 300}],
    }


# --- wire format and errors -------------------------------------------------------------------


def test_wire_format_primitives() -> None:
    assert read_varint(b"\xac\x02", 0) == (300, 2)
    assert read_varint(varint(-1), 0) == ((1 << 64) - 1, 10)
    fixed = b"\x0d" + (7).to_bytes(4, "little") + b"\x11" + (9).to_bytes(8, "little")
    assert list(iter_fields(fixed)) == [(1, 5, 7), (2, 1, 9)]
    assert list(iter_fields(field(3, "hi"))) == [(3, 2, b"hi")]


@pytest.mark.parametrize(("body", "message"), [
    (b"{}", "does not appear to be a protobuf message"),
    (MAGIC, "empty body"),
    (MAGIC + b"\x0a\x05\x0a", "runs past the end"),
    (MAGIC + b"\x08\xff", r"runtime.Unknown at \.: truncated varint"),
    (MAGIC + b"\x0b", "wire type 3"),
    (envelope("v1", "ConfigMap", field(1, b"\x0a")), "ObjectMeta at metadata: truncated"),
    (envelope("v1", "ConfigMap", field(2, b"\xff")), "map entry at data: truncated varint"),
    (envelope("v1", "ConfigMap", field(1, 5)), "expected a length-delimited value"),
    (envelope("v1", "ConfigMap", field(4, "yes")), "expected a varint"),
    (envelope("v1", "ConfigMap", entry(2, "k", b"\xff\xfe")), "invalid UTF-8"),
])
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message) as caught:
        decode_body(body)
    assert not isinstance(caught.value, UnsupportedProtobuf)


@pytest.mark.parametrize(("body", "message"), [
    (envelope("apps/v1", "Deployment", b""), "protobuf bodies of apps/v1 Deployment"),
    (envelope("v1", "Namespace", field(1, meta()) + field(9, "x")), "Namespace field 9 at ."),
    (envelope("v1", "Secret", field(1, meta(cluster=field(15, "c")))),
     "ObjectMeta field 15 at metadata"),
    (envelope("v1", "ServiceAccount", field(2, field(8, "x"))),
     r"ObjectReference field 8 at secrets\[0\]"),
    (envelope("v1", "ConfigMap", field(2, field(3, "x"))), "map entry field 3 at data"),
    (envelope("batch/v1", "Job", field(2, field(17, b""))), "JobSpec field 17 at spec"),
])
def test_unknown_kinds_and_field_numbers_are_refused_by_name(body: bytes, message: str) -> None:
    with pytest.raises(UnsupportedProtobuf, match=message):
        decode_body(body)


# --- over HTTP --------------------------------------------------------------------------------


def test_http_protobuf_create_and_errors(sandbox: Sandbox) -> None:
    status, _, created = request(sandbox, "POST", "/api/v1/namespaces", body=NAMESPACE,
                                 content_type=PROTOBUF)
    assert status == 201
    assert created["metadata"]["name"] == "shop" and created["status"] == {"phase": "Active"}
    status, _, answer = request(sandbox, "POST", "/api/v1/namespaces/shop/secrets",
                                body=CONFIGMAP, content_type=PROTOBUF)
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert "kind" in answer["message"]
    status, _, answer = request(sandbox, "POST", "/api/v1/namespaces/shop/configmaps",
                                body=MAGIC + b"\x0a\x05", content_type=PROTOBUF)
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert answer["message"].startswith("error decoding protobuf request body: ")
    assert sandbox.unimplemented == []


@pytest.mark.allow_unimplemented
def test_http_undecodable_protobuf_is_415_and_recorded(sandbox: Sandbox) -> None:
    body = envelope("v1", "Namespace", field(1, meta()) + field(9, "x"))
    status, _, answer = request(sandbox, "POST", "/api/v1/namespaces", body=body,
                                content_type=PROTOBUF)
    assert (status, answer["reason"]) == (415, "UnsupportedMediaType")
    assert answer["message"] == "the sandbox cannot decode Namespace field 9 at ."
    assert [r.unimplemented for r in sandbox.unimplemented] == [answer["message"]]
    assert sandbox.get("dev", "v1", "Namespace", None, "x") is None
