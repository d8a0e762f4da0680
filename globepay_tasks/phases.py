"""Phases of an environment's deploy: the objects annotated ``globepay.dev/phase:
pre-deploy`` are applied and waited for first (a database migration Job), then the
``deploy`` ones (the default), then ``post-deploy``. The ConfigMaps, Secrets,
ServiceAccounts and PersistentVolumeClaims a pod template uses go with the earliest phase
that uses them, and the environment's Namespace with the first. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from . import kinds
from .errors import ConfigError
from .kubectl import kind_name

ANNOTATION = "globepay.dev/phase"
PRE_DEPLOY, DEPLOY, POST_DEPLOY = "pre-deploy", "deploy", "post-deploy"
#: The phases in the order they are applied.
ORDER = (PRE_DEPLOY, DEPLOY, POST_DEPLOY)


def declared(obj: dict) -> str:
    """The phase an object's annotation names (``deploy`` without one); a `ConfigError`
    naming the object for a value that is not a phase."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    phase = annotations.get(ANNOTATION, DEPLOY)
    if phase not in ORDER:
        raise ConfigError(f"{kind_name(obj)}: annotation {ANNOTATION}: {phase!r} is not one "
                          f"of {', '.join(ORDER)}")
    return phase


def key(obj: dict) -> tuple[str, str]:
    return obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")


def assign(objects: Sequence[dict]) -> dict[tuple[str, str], str]:
    """The phase of each object by (kind, name): its own, or the earliest of the pod
    templates that use it when that comes first; the Namespace goes with the first phase."""
    phase = {key(obj): declared(obj) for obj in objects}
    for obj in objects:
        if kinds.is_templated(obj):
            for used in uses(kinds.of(obj["kind"]).pod_template(obj)):
                if used in phase and ORDER.index(phase[key(obj)]) < ORDER.index(phase[used]):
                    phase[used] = phase[key(obj)]
    first = min(phase.values(), key=ORDER.index, default=DEPLOY)
    for obj in objects:
        if obj.get("kind") == "Namespace":
            phase[key(obj)] = first
    return phase


def uses(template: dict) -> Iterator[tuple[str, str]]:
    """The (kind, name) of each ConfigMap, Secret, ServiceAccount and PersistentVolumeClaim
    a pod template refers to."""
    spec = template.get("spec") or {}
    if spec.get("serviceAccountName"):
        yield "ServiceAccount", spec["serviceAccountName"]
    for secret in spec.get("imagePullSecrets") or []:
        yield "Secret", secret.get("name", "")
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"].get("name", "")
        if "secret" in volume:
            yield "Secret", volume["secret"].get("secretName", "")
        if "persistentVolumeClaim" in volume:
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName", "")
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                yield "ConfigMap", source["configMap"].get("name", "")
            if "secret" in source:
                yield "Secret", source["secret"].get("name", "")
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"].get("name", "")
            if "secretRef" in source:
                yield "Secret", source["secretRef"].get("name", "")
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            if "configMapKeyRef" in value_from:
                yield "ConfigMap", value_from["configMapKeyRef"].get("name", "")
            if "secretKeyRef" in value_from:
                yield "Secret", value_from["secretKeyRef"].get("name", "")
