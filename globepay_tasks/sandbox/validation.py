"""Server-side validation of a new state: object names and the required fields kubectl users trip
over. Unknown fields and wrong types: :mod:`.field_validation`; immutable fields: :mod:`.immutable`.
"""

from __future__ import annotations

import json
import random
import re

from .errors import ApiError, invalid
from .resources import ResourceType
from .selectors import selector_matches

Cause = tuple[str, str, str]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_NAME_KINDS = {"Namespace", "Service"}
_WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
_JOB_RESTART = ("OnFailure", "Never")


def _required(field: str, detail: str = "") -> Cause:
    return (field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def _invalid(field: str, value: object, detail: str) -> Cause:
    shown = json.dumps(value) if isinstance(value, str) else _go_map(value)
    return (field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def _go_map(value: object) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    return json.dumps(value)


def _name_causes(kind: str, name: str | None) -> list[Cause]:
    if not name:
        return [_required("metadata.name", "name or generateName is required")]
    if kind in _LABEL_NAME_KINDS:
        if len(name) > 63 or not _LABEL.match(name):
            return [_invalid("metadata.name", name, _LABEL_MSG)]
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        return [_invalid("metadata.name", name, _SUBDOMAIN_MSG)]
    return []


def _containers_causes(pod_spec: dict | None, prefix: str) -> list[Cause]:
    containers = (pod_spec or {}).get("containers")
    if not containers:
        return [_required(f"{prefix}.containers")]
    causes: list[Cause] = []
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            continue
        if not container.get("name"):
            causes.append(_required(f"{prefix}.containers[{i}].name"))
        if not container.get("image"):
            causes.append(_required(f"{prefix}.containers[{i}].image"))
    return causes


def _workload_causes(kind: str, spec: dict) -> list[Cause]:
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template")
    if not selector:
        causes.append(_required("spec.selector"))
    if not isinstance(template, dict):
        causes.append(_required("spec.template"))
        return causes
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and not selector_matches(selector, labels):
        causes.append(_invalid("spec.template.metadata.labels", labels,
                               "`selector` does not match template `labels`"))
    causes.extend(_containers_causes(template.get("spec"), "spec.template.spec"))
    if kind == "Deployment":
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            causes.append(("spec.replicas", "FieldValueInvalid",
                           f"Invalid value: {replicas}: must be greater than or equal to 0"))
    return causes


def _job_causes(spec: dict) -> list[Cause]:
    template = spec.get("template")
    if not isinstance(template, dict):
        return [_required("spec.template")]
    pod_spec = template.get("spec") or {}
    causes = _containers_causes(pod_spec, "spec.template.spec")
    restart = pod_spec.get("restartPolicy")
    if restart not in _JOB_RESTART:
        causes.append(("spec.template.spec.restartPolicy", "FieldValueRequired",
                       'Required value: valid values: "OnFailure", "Never"'))
    return causes


def _service_causes(spec: dict) -> list[Cause]:
    if spec.get("type") == "ExternalName":
        return []
    ports = spec.get("ports")
    if not ports and spec.get("clusterIP") != "None":
        return [_required("spec.ports")]
    causes: list[Cause] = []
    for i, port in enumerate(ports or []):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append((f"spec.ports[{i}].port", "FieldValueInvalid",
                           f"Invalid value: {json.dumps(number)}: must be between 1 and 65535, "
                           "inclusive"))
    return causes


_PDB_SPEC_FIELDS = (("minAvailable", "intstr.IntOrString"), ("selector", "v1.LabelSelector"),
                    ("maxUnavailable", "intstr.IntOrString"),
                    ("unhealthyPodEvictionPolicy", "policy.UnhealthyPodEvictionPolicyType"))


def _go_struct_dump(go_type: str, spec: dict, fields: tuple[tuple[str, str], ...]) -> str:
    """``%#v`` of an internal API struct whose members are pointers, as the API server prints
    the value of an invalid struct (internal types refuse JSON): ``policy.X{A:(*T)(0xc...)}``
    (the addresses are made up, as they differ on every request of a real server)."""
    base = 0xC000000000 + random.randrange(0x100000, 0x8000000) * 0x20
    members = []
    for index, (name, go) in enumerate(fields):
        pointer = "nil" if spec.get(name) is None else hex(base + index * 0x20)
        members.append(f"{name[0].upper()}{name[1:]}:(*{go})({pointer})")
    return f"{go_type}{{{', '.join(members)}}}"


def _disruption_budget_causes(spec: dict) -> list[Cause]:
    """ValidatePodDisruptionBudgetSpec: at most one of minAvailable and maxUnavailable, each
    not negative."""
    causes: list[Cause] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        shown = _go_struct_dump("policy.PodDisruptionBudgetSpec", spec, _PDB_SPEC_FIELDS)
        causes.append(("spec", "FieldValueInvalid", f"Invalid value: {shown}: minAvailable and "
                       "maxUnavailable cannot be both set"))
    for name in ("minAvailable", "maxUnavailable"):
        value = spec.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            causes.append((f"spec.{name}", "FieldValueInvalid",
                           f"Invalid value: {value}: must be greater than or equal to 0"))
    return causes


def validate(rt: ResourceType, obj: dict) -> None:
    """Raise 422 Invalid if ``obj`` (already defaulted) is not acceptable for ``rt``."""
    meta = obj.get("metadata") or {}
    causes = _name_causes(rt.kind, meta.get("name"))
    spec = obj.get("spec")
    if rt.kind in _WORKLOADS:
        causes.extend(_workload_causes(rt.kind, spec if isinstance(spec, dict) else {}))
    elif rt.kind == "Job":
        causes.extend(_job_causes(spec if isinstance(spec, dict) else {}))
    elif rt.kind == "Pod":
        causes.extend(_containers_causes(spec if isinstance(spec, dict) else {}, "spec"))
    elif rt.kind == "Service":
        causes.extend(_service_causes(spec if isinstance(spec, dict) else {}))
    elif rt.kind == "PodDisruptionBudget" and rt.group == "policy":
        causes.extend(_disruption_budget_causes(spec if isinstance(spec, dict) else {}))
    if causes:
        raise invalid(rt, meta.get("name") or "", causes)


__all__ = ["ApiError", "validate"]
