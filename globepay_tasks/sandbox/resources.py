"""The sandbox's kinds and the documents built from them, in one place for their users.

- :mod:`.registry`: :class:`ResourceType`, the table (:data:`RESOURCE_TYPES`, derived from
  lightkube-models by :mod:`.lightkube_source`, short names from :mod:`.shortnames`),
  :func:`lookup` and :func:`by_kind`;
- :mod:`.discovery`: ``/api``, ``/apis`` and the APIResourceLists;
- :mod:`.openapi`: the OpenAPI v3 documents and the empty v2 one.
"""

from __future__ import annotations

from .discovery import api_group_list_doc, api_resource_list_doc, api_versions_doc
from .openapi import (
    OPENAPI_V2_CONTENT_TYPE,
    openapi_v2_doc,
    openapi_v3_group_doc,
    openapi_v3_root_doc,
)
from .registry import (
    ALL_VERBS,
    GROUP_VERSIONS,
    RESOURCE_TYPES,
    SUBRESOURCE_VERBS,
    ResourceType,
    Subresource,
    by_kind,
    lookup,
)

__all__ = [
    "ALL_VERBS",
    "GROUP_VERSIONS",
    "OPENAPI_V2_CONTENT_TYPE",
    "RESOURCE_TYPES",
    "SUBRESOURCE_VERBS",
    "ResourceType",
    "Subresource",
    "api_group_list_doc",
    "api_resource_list_doc",
    "api_versions_doc",
    "by_kind",
    "lookup",
    "openapi_v2_doc",
    "openapi_v3_group_doc",
    "openapi_v3_root_doc",
]
