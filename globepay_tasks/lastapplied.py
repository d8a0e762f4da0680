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
An object whose live copy holds it already, annotation and all (`holds`), is not sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

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


class Split(NamedTuple):
    """The objects of an apply by how they are sent."""

    #: applied client-side (they drop a field, or their last configuration is unknown)
    client: list[dict]
    #: applied server-side, each carrying its last-applied annotation
    server: list[dict]
    #: not sent: the objects as read, which hold them already (`holds`)
    kept: list[dict]


def split(objects: Sequence[dict], live: Sequence[dict], cluster_scoped: Sequence[dict] | None
          ) -> Split:
    """``objects`` by how to apply them, from the namespace's objects as read before
    (``live``) and the cluster-scoped ones (``cluster_scoped``; None: not read).
    Client-side: an object whose configuration `drops` a field of the one last applied to
    it, and a cluster-scoped one when they were not read. Kept: one whose live object holds
    it with its annotation, an apply of which would change nothing."""
    index = {(obj.get("kind"), obj["metadata"].get("name")): obj
             for obj in (*live, *(cluster_scoped or ()))}
    found = Split([], [], [])
    for obj in objects:
        recorded = configuration(obj)
        configured = _carrying(recorded)  # TypeError: a value JSON cannot hold
        seen = index.get((obj.get("kind"), recorded["metadata"].get("name")))
        before = last_applied(seen or {})
        if seen is not None and holds(seen, _as_read(configured)):
            found.kept.append(seen)
        elif (cluster_scoped is None and is_cluster_scoped(obj)) or (
                before is not None and drops(before, recorded)):
            found.client.append(obj)
        else:
            found.server.append(configured)
    return found


def _as_read(obj: dict) -> dict:
    """``obj`` as the server gives it back: a Secret's ``stringData`` is written into its
    ``data`` (base64, over a key of the same name) and never read back."""
    written = obj.get("stringData") if obj.get("kind") == "Secret" else None
    if not isinstance(written, dict) or not all(isinstance(v, str) for v in written.values()):
        return obj
    read = {key: value for key, value in obj.items() if key != "stringData"}
    read["data"] = {**(obj.get("data") or {}), **{
        key: base64.b64encode(value.encode()).decode() for key, value in written.items()}}
    return read


def holds(live: Any, wanted: Any) -> bool:
    """Whether ``live`` has every field ``wanted`` sets, with the same value (a list item
    by item, of the same length): an apply of ``wanted`` whose last-applied annotation
    ``live`` has already would change nothing. Conservative: a value the server wrote in
    another form (a quantity, an omitted empty value) counts as not held."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            key in live and holds(live[key], value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(live) == len(wanted) and all(
            holds(item, value) for item, value in zip(live, wanted, strict=True))
    return live == wanted and isinstance(live, bool) == isinstance(wanted, bool)


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
