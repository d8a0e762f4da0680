"""The ``kubectl.kubernetes.io/last-applied-configuration`` annotation as the tool writes it
itself for a server-side apply, and when a server-side apply is not enough. Pure functions,
no I/O.

The apply is server-side (one request an object, field manager ``globepay-tasks``); the API
server keeps the annotation current under server-side apply only for kubectl's own manager,
so each object carries it, written as client-side ``kubectl apply`` writes it (the object
without the annotation, encoded by Go's ``encoding/json``, a newline after it): the plan,
``invoke diff``, the restore and ``kubectl apply view-last-applied`` read it as before.

A server-side apply removes a field its manager stops applying only when no other manager
owns it, and objects written by client-side ``kubectl apply`` before are co-owned by kubectl's
manager: an object whose new configuration drops a field of the last one (`drops`) is
applied client-side, which removes what the annotation had and the configuration does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .fielddiff import last_applied
from .guards import is_cluster_scoped
from .kubectl import LAST_APPLIED_ANNOTATION

#: Lists the API server merges item by item with ``name`` as the only key (a container's
#: image, an environment variable's value changes in place); other lists are compared whole.
NAME_KEYED_LISTS = frozenset({"containers", "initContainers", "env"})

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def go_json(value: Any) -> str:
    """``value`` as Go's ``json.Encoder`` writes it (what kubectl stores): keys sorted, no
    spaces, ``<``, ``>``, ``&`` escaped, whole floats without ``.0``, a newline at the end."""
    text = json.dumps(_go_numbers(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text + "\n"


def _go_numbers(value: Any) -> Any:
    """Whole floats as Go writes them (``1.0`` as ``1``)."""
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_go_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


def configuration(obj: Mapping[str, Any]) -> dict:
    """What client-side ``kubectl apply`` records of ``obj``: the object without its
    last-applied annotation (``annotations`` kept, empty, when it has no other)."""
    recorded = dict(obj)
    metadata = dict(recorded.get("metadata") or {})
    metadata["annotations"] = {key: value for key, value in
                               (metadata.get("annotations") or {}).items()
                               if key != LAST_APPLIED_ANNOTATION}
    recorded["metadata"] = metadata
    return recorded


def annotated(obj: Mapping[str, Any]) -> dict:
    """``obj`` carrying its own last-applied annotation, as a client-side apply sends it."""
    return _carrying(configuration(obj))


def _carrying(recorded: dict) -> dict:
    """`configuration` ``recorded`` with itself as its last-applied annotation."""
    metadata = recorded["metadata"]
    return {**recorded, "metadata": {**metadata, "annotations": {
        **metadata["annotations"], LAST_APPLIED_ANNOTATION: go_json(recorded)}}}


def split(objects: Sequence[dict], live: Sequence[dict], cluster_scoped: Sequence[dict] | None
          ) -> tuple[list[dict], list[dict]]:
    """``objects`` to apply as (client-side, server-side with their last-applied annotation),
    from the namespace's objects as read before (``live``) and the cluster-scoped ones
    (``cluster_scoped``; None: not read). Client-side: an object whose configuration `drops`
    a field of the one last applied to it, and a cluster-scoped one when they were not
    read."""
    index = {(obj.get("kind"), obj["metadata"].get("name")): obj
             for obj in (*live, *(cluster_scoped or ()))}
    client, server = [], []
    for obj in objects:
        recorded = configuration(obj)
        configured = _carrying(recorded)  # TypeError: a value JSON cannot hold
        before = last_applied(index.get((obj.get("kind"), recorded["metadata"].get("name")), {}))
        unread = cluster_scoped is None and is_cluster_scoped(obj)
        if unread or (before is not None and drops(before, recorded)):
            client.append(obj)
        else:
            server.append(configured)
    return client, server


def drops(before: Any, after: Any, field: str = "") -> bool:
    """Whether configuration ``after`` leaves out a field (a map key, a list item) that
    ``before`` set. Conservative: a list other than `NAME_KEYED_LISTS` counts as dropping
    unless each item of ``before`` is in ``after`` as it was; a value changing is no drop."""
    if isinstance(before, dict):
        return not isinstance(after, dict) or any(
            key not in after or drops(value, after[key], key) for key, value in before.items())
    if isinstance(before, list):
        if not isinstance(after, list):
            return True
        if before == after:
            return False
        if field in NAME_KEYED_LISTS and _named(before) and _named(after):
            by_name = {item["name"]: item for item in after}
            return any(item["name"] not in by_name or drops(item, by_name[item["name"]])
                       for item in before)
        return any(item not in after for item in before)
    return False


def _named(items: list) -> bool:
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    return None not in names and len(set(names)) == len(names)
