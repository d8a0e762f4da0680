"""The schema-driven decoders behind fieldValidation, without HTTP: messages and speed.

Each expected message is the kube-apiserver's wording for the same input (sources:
sigs.k8s.io/json, apimachinery's unstructured converter, structured-merge-diff, the endpoint
handlers' create/update/patch paths).
"""

from __future__ import annotations

import copy
import time

import pytest

from globepay_tasks.sandbox.errors import ApiError
from globepay_tasks.sandbox.field_validation import (
    check_applied,
    check_body,
    check_patched,
    check_strategic,
)
from globepay_tasks.sandbox.goformat import float_v, plus_v
from globepay_tasks.sandbox.goparse import base64_error, parse_quantity
from globepay_tasks.sandbox.jsondecode import decode
from globepay_tasks.sandbox.resources import by_kind
from globepay_tasks.sandbox.schemas import INT_OR_STRING, STRUCT, Definitions, schema_for
from globepay_tasks.sandbox.typedapply import typed_errors
from globepay_tasks.sandbox.unstructured import convert

DEPLOYMENTS = by_kind("apps/v1", "Deployment")
SECRETS = by_kind("v1", "Secret")


def deployment() -> dict:
    """A typical Deployment as kubectl sends it."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                     "annotations": {"team": "payments"}},
        "spec": {
            "replicas": 2, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "MODE", "value": "prod"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                                  "requests": {"cpu": 0.25, "memory": "64Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80},
                                       "periodSeconds": 5},
                }]},
            },
        },
    }


@pytest.fixture(scope="module")
def node():
    found = schema_for("apps/v1", "Deployment")
    assert found is not None and found.kind == STRUCT and found.go == "v1.Deployment"
    return found


# --- schemas ---------------------------------------------------------------------------------

def test_every_served_kind_has_a_schema_and_unknown_kinds_have_none() -> None:
    from globepay_tasks.sandbox.resources import RESOURCE_TYPES
    assert all(schema_for(rt.group_version, rt.kind) for rt in RESOURCE_TYPES)
    assert schema_for("example.com/v1", "Widget") is None


def test_extensions_preserve_unknown_fields_and_int_or_string() -> None:
    defs = Definitions({
        "io.example.v1.Thing": {
            "type": "object", "x-kubernetes-group-version-kind": [
                {"group": "example.io", "version": "v1", "kind": "Thing"}],
            "additionalProperties": False,
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "open": {"$ref": "#/$defs/io.example.v1.Open"},
            }},
        "io.example.v1.Open": {
            "type": ["object", "null"], "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"n": {"type": "integer", "format": "int64"}}},
    })
    thing = defs.root("example.io/v1", "Thing")
    assert thing is not None and thing.fields["port"].kind == INT_OR_STRING
    ok = decode(thing, {"port": "http", "free": {"a": [1]}, "open": {"n": 1, "x": {}}},
                strict=True)
    assert (ok.unknown, ok.error) == ([], None)
    bad = decode(thing, {"open": {"n": "1"}, "extra": 1}, strict=True)
    assert bad.unknown == ["extra"]
    assert bad.error == ("json: cannot unmarshal string into Go struct field Open.open.n of "
                         "type int64")


# --- create / update: the JSON decoder -------------------------------------------------------

def test_a_clean_deployment_decodes(node) -> None:
    result = decode(node, deployment(), strict=True)
    assert (result.unknown, result.error) == ([], None)


def test_unknown_fields_at_any_depth_with_list_indices(node) -> None:
    obj = deployment()
    obj["spec"]["progressDeadlineSecond"] = 5
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    obj["metadata"]["labelz"] = {}
    result = decode(node, obj, strict=True)
    assert result.unknown == [  # in document order, as the decoder meets them
        "metadata.labelz", "spec.template.spec.containers[0].imagePullPolicyy",
        "spec.progressDeadlineSecond"]
    assert decode(node, obj, strict=False).unknown == []


@pytest.mark.parametrize("path, value, message", [
    (("spec", "replicas"), "two",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
     "int32"),
    (("spec", "replicas"), 1.5,
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of "
     "type int32"),
    (("spec", "paused"), "yes",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type "
     "bool"),
    (("spec", "template"), [],
     "json: cannot unmarshal array into Go struct field DeploymentSpec.spec.template of type "
     "v1.PodTemplateSpec"),
    (("metadata", "labels", "tier"), 1,
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type "
     "string"),
    (("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"), "80",
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec."
     "containers.ports.containerPort of type int32"),
    (("spec", "template", "spec", "containers"), "web",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers "
     "of type []v1.Container"),
    (("spec", "strategy", "rollingUpdate", "maxSurge"), True,
     "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy."
     "rollingUpdate.maxSurge of type int32"),
    (("spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"), "5 cores",
     "quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (("spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"), "5mi",
     "unable to parse quantity's suffix"),
    (("metadata", "creationTimestamp"), 5,
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp "
     "of type string"),
])
def test_wrong_types_name_the_go_struct_field_and_type(node, path, value, message) -> None:
    obj = deployment()
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    obj["spec"]["bogus"] = 1  # an error wins over unknown fields
    assert decode(node, obj, strict=True).error == message
    assert decode(node, obj, strict=False).error == message


def test_the_first_type_error_is_kept_but_an_unmarshaller_error_wins(node) -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "two"
    obj["spec"]["paused"] = "no"
    assert "DeploymentSpec.spec.replicas" in decode(node, obj, strict=True).error
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "x"
    assert decode(node, obj, strict=True).error.startswith("quantities must match")


def test_secret_data_must_be_base64() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"ok": "aGVsbG8=", "bad": "hello world"}}
    with pytest.raises(ApiError) as caught:
        check_body(SECRETS, secret, "Strict")
    assert caught.value.message == ('Secret in version "v1" cannot be handled as a Secret: '
                                    "illegal base64 data at input byte 5")


def test_check_body_modes(node) -> None:
    obj = deployment()
    obj["spec"]["replicass"] = 3
    with pytest.raises(ApiError) as caught:
        check_body(DEPLOYMENTS, copy.deepcopy(obj), "Strict")
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert caught.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicass"')
    warnings: list[str] = []
    warned = copy.deepcopy(obj)
    check_body(DEPLOYMENTS, warned, None, warnings)  # no parameter: the server's Warn
    assert warnings == ['unknown field "spec.replicass"']
    assert "replicass" not in warned["spec"]  # dropped, as decoding into the Go type does
    ignored, quiet = copy.deepcopy(obj), []
    check_body(DEPLOYMENTS, ignored, "Ignore", quiet)
    assert quiet == [] and "replicass" not in ignored["spec"]
    obj["spec"]["replicas"] = "two"
    with pytest.raises(ApiError, match="cannot unmarshal string into Go struct field "
                                       "DeploymentSpec.spec.replicas of type int32"):
        check_body(DEPLOYMENTS, obj, "Ignore")


# --- patches ---------------------------------------------------------------------------------

def test_json_and_merge_patches_answer_422_with_the_patched_object() -> None:
    patched = deployment()
    patched["spec"]["replicass"] = 3
    with pytest.raises(ApiError) as caught:
        check_patched(DEPLOYMENTS, patched, "Strict")
    error = caught.value
    assert (error.code, error.reason) == (422, "Invalid")
    assert error.message.startswith(' "" is invalid: patch: Invalid value: "{\\"apiVersion\\":')
    assert error.message.endswith('": strict decoding error: unknown field "spec.replicass"')
    assert error.details["causes"][0]["field"] == "patch"


def test_strategic_merge_patch_converts_the_result(node) -> None:
    patch = {"spec": {"replicas": "two", "template": {"spec": {"containers": [
        {"name": "web", "imagePullPolicyy": None}]}}}}
    patched = deployment()
    patched["spec"]["replicas"] = "two"
    with pytest.raises(ApiError) as caught:
        check_strategic(DEPLOYMENTS, patched, patch, "Strict")
    assert caught.value.message == (
        ' "" is invalid: patch: Invalid value: "map[spec:map[replicas:two template:map[spec:map['
        'containers:[map[imagePullPolicyy:<nil> name:web]]]]]]": unrecognized type: int32')
    patched["spec"]["replicas"] = 2
    patched["spec"]["zz"] = patched["spec"]["aa"] = 1
    assert convert(node, patched, strict=True).unknown == ["spec.aa", "spec.zz"]  # sorted


@pytest.mark.parametrize("path, value, message", [
    (("spec", "replicas"), 1.5, "cannot convert float64 to int32"),
    (("spec", "paused"), 1, "unrecognized type: bool"),
    (("metadata", "name"), 7, "cannot convert int64 to string"),
    (("spec", "strategy"), "fast", "cannot restore struct from: string"),
    (("spec", "template", "spec", "containers"), {}, "cannot restore slice from map"),
    (("metadata", "labels"), [], "cannot restore map from slice"),
    (("spec", "strategy", "rollingUpdate", "maxSurge"), True,
     "json: cannot unmarshal bool into Go value of type int32"),
])
def test_converter_messages(node, path, value, message) -> None:
    obj = deployment()
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert convert(node, obj, strict=True).error == message


def test_server_side_apply_types_the_applied_object(node) -> None:
    applied = deployment()
    applied["spec"]["replicass"] = 3
    applied["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert typed_errors(node, applied) == (
        'errors:\n  .spec.template.spec.containers[name="web"].imagePullPolicyy: field not '
        "declared in schema\n  .spec.replicass: field not declared in schema")
    applied = deployment()
    applied["spec"]["replicas"] = "two"
    with pytest.raises(ApiError) as caught:
        check_applied(DEPLOYMENTS, applied)
    assert (caught.value.code, caught.value.reason) == (500, "")
    assert caught.value.message == (
        "failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): "
        ".spec.replicas: expected numeric (int or float), got string")


# --- Go value syntax -------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("500m", "0.5"), ("128Mi", str(128 * 2**20)), ("1e3", "1000"), ("1E", str(10**18)),
    ("0.25", "0.25"), ("+1.", "1"), ("2Ki", "2048"),
])
def test_quantities(text, value) -> None:
    assert parse_quantity(text) == parse_quantity(value)


@pytest.mark.parametrize("text, error", [
    ("aGVsbG8=", None), ("aGVsbG8", "illegal base64 data at input byte 4"),
    ("abc", "illegal base64 data at input byte 0"), ("a=bc", "illegal base64 data at input byte 1"),
    ("aGVs\nbG8=", None), ("aGVsbG8=x", "illegal base64 data at input byte 8"), ("", None),
])
def test_base64_offsets(text, error) -> None:
    assert base64_error(text) == error


def test_go_printing() -> None:
    assert plus_v({"b": [1, "x", None], "a": {"c": True}}) == "map[a:map[c:true] b:[1 x <nil>]]"
    assert [float_v(f) for f in (1.5, 2.0, 1e6, 123456.0, 0.00001)] == [
        "1.5", "2", "1e+06", "123456", "1e-05"]


# --- speed -----------------------------------------------------------------------------------

def test_a_typical_deployment_validates_well_under_two_milliseconds(node) -> None:
    obj = deployment()
    check_body(DEPLOYMENTS, copy.deepcopy(obj), "Strict")  # schema loaded and compiled
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        check_body(DEPLOYMENTS, obj, "Strict")
    per_call = (time.perf_counter() - started) / runs
    assert per_call < 0.002, f"{per_call * 1000:.3f} ms per Deployment"
