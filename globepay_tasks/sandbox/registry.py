"""The kinds the sandbox serves: every built-in kind of Kubernetes 1.37's stable API groups.

The table is derived from lightkube-models (:mod:`.lightkube_source`: group, version, kind,
plural, scope, verbs, subresources) plus the API server's short names and categories
(:mod:`.shortnames`), once, when this module is imported. Kinds with a controller
(:mod:`.controllers`) behave; every other kind is plain storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lightkube_source import ApiDef, read_api_defs
from .shortnames import CATEGORIES, SHORT_NAMES

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
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")

#: Named groups in the order a real API server lists them in ``/apis`` (the aggregator's
#: group priorities); groups missing here follow in alphabetical order.
GROUP_ORDER: tuple[str, ...] = (
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
    "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
    "discovery.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
    "storagemigration.k8s.io",
)


@dataclass(frozen=True)
class Subresource:
    """A subresource (``deployments/scale``) and the type of its body."""

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...] = SUBRESOURCE_VERBS


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
    subresource_types: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def subresources(self) -> tuple[str, ...]:
        """Names of the subresources (``("scale", "status")``)."""
        return tuple(s.name for s in self.subresource_types)

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


def _group_rank(group: str) -> tuple[int, str]:
    if group == "":
        return (-1, "")
    return (GROUP_ORDER.index(group), "") if group in GROUP_ORDER else (len(GROUP_ORDER), group)


def _version_rank(version: str) -> int:
    """Higher stable versions first (``v2`` before ``v1``), as the preferred one leads."""
    return -int(version[1:])


def build_resource_types(defs: list[ApiDef]) -> tuple[ResourceType, ...]:
    """Resource types from lightkube's definitions, in discovery order."""
    subs: dict[tuple[str, str, str], list[Subresource]] = {}
    for d in defs:
        if d.parent is not None and d.action is not None:
            subs.setdefault(d.parent, []).append(
                Subresource(d.action, d.group, d.version, d.kind, d.verbs))
    types = []
    for d in defs:
        if d.parent is not None:
            continue
        key = (d.group, d.plural)
        types.append(ResourceType(
            d.group, d.version, d.kind, d.plural, d.kind.lower(), d.namespaced,
            SHORT_NAMES.get(key, ()), d.verbs,
            tuple(sorted(subs.get((d.group, d.version, d.kind), ()), key=lambda s: s.name)),
            CATEGORIES.get(key, ())))
    types.sort(key=lambda r: (_group_rank(r.group), _version_rank(r.version), r.plural))
    return tuple(types)


RESOURCE_TYPES: tuple[ResourceType, ...] = build_resource_types(read_api_defs())

#: Served named group versions, groups in a real server's order, the preferred version first.
GROUP_VERSIONS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(
    (r.group, r.version) for r in RESOURCE_TYPES if r.group))

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
