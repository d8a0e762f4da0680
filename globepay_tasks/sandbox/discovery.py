"""Discovery documents in the legacy (non-aggregated) JSON form a real API server returns for
``/api``, ``/apis``, ``/api/v1`` and ``/apis/<group>/<version>``.

kubectl asks for aggregated discovery first and falls back to these when the answer is plain
``application/json``.
"""

from __future__ import annotations

from .registry import GROUP_VERSIONS, RESOURCE_TYPES, ResourceType


def api_versions_doc() -> dict:
    """``GET /api``: APIVersions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }


def api_group_list_doc() -> dict:
    """``GET /apis``: APIGroupList; each group's first served version is its preferred one."""
    versions: dict[str, list[dict]] = {}
    for group, version in GROUP_VERSIONS:
        versions.setdefault(group, []).append(
            {"groupVersion": f"{group}/{version}", "version": version})
    groups = [{"name": group, "versions": listed, "preferredVersion": dict(listed[0])}
              for group, listed in versions.items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def served(group: str, version: str) -> bool:
    """Is ``<group>/<version>`` (group "" = core) served?"""
    if group == "":
        return version == "v1"
    return (group, version) in GROUP_VERSIONS


def _resource_entries(rt: ResourceType) -> list[dict]:
    entry: dict = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    for sub in rt.subresource_types:
        sub_entry: dict = {
            "name": f"{rt.plural}/{sub.name}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": sub.kind,
            "verbs": list(sub.verbs),
        }
        if (sub.group, sub.version) != (rt.group, rt.version):
            sub_entry.update(group=sub.group, version=sub.version)
        entries.append(sub_entry)
    return entries


def api_resource_list_doc(group: str, version: str) -> dict | None:
    """``GET /api/v1`` or ``/apis/<group>/<version>``: APIResourceList, None if not served."""
    if not served(group, version):
        return None
    resources: list[dict] = []
    for rt in sorted(RESOURCE_TYPES, key=lambda r: r.plural):
        if rt.group == group and rt.version == version:
            resources.extend(_resource_entries(rt))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}
