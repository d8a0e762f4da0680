"""What server-side apply's typed conversion finds wrong in an applied object.

Emulates structured-merge-diff's validation of the apply patch (``ObjectToTyped``), which runs
whatever ``fieldValidation`` says: ``.spec.replicass: field not declared in schema`` (one per
object level), ``.spec.replicas: expected numeric (int or float), got string`` and the like.
List elements are named the way server-side apply names them: ``[name="web"]`` for lists keyed
by fields, ``[="a"]`` for sets, ``[0]`` for atomic lists.
"""

from __future__ import annotations

from typing import Any

from .goformat import float_v, plus_v, quote, sharp_v, type_of
from .schemas import (
    ANY,
    BOOL,
    BYTES,
    FLOAT,
    INT,
    LIST,
    MAP,
    STRING,
    STRUCT,
    Node,
)

Problem = tuple[str, str]  # (path, message)


def _scalar_text(value: Any) -> str:
    """``value.ToString`` of a list key value."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        return float_v(value)
    return plus_v(value)


def _element(node: Node, index: int, member: Any) -> tuple[str | None, str | None]:
    """(path element, error) of one list element."""
    if node.list_type == "atomic":
        return f"[{index}]", None
    if node.list_type == "set":
        if isinstance(member, dict):
            return None, f"element {index}: associative list without keys has an element " \
                         "that's a map type"
        if isinstance(member, list):
            return None, f"element {index}: not supported: associative list with lists as " \
                         "elements"
        if member is None:
            return None, f"element {index}: associative list without keys has an element " \
                         "that's an explicit null"
        return f"[={_scalar_text(member)}]", None
    if member is None:
        return None, f"element {index}: associative list with keys may not have a null element"
    if not isinstance(member, dict):
        return None, f"element {index}: associative list with keys may not have non-map " \
                     "elements"
    keys = sorted(k for k in node.list_keys if k in member)
    if node.list_keys and not keys:
        listed = "[" + " ".join(quote(k) for k in node.list_keys) + "]"
        return None, f"element {index}: associative list with keys has an element that omits " \
                     f"all key fields {listed} (and doesn't have default values for any key " \
                     "fields)"
    return "[" + ",".join(f"{k}={_scalar_text(member[k])}" for k in keys) + "]", None


def _walk(node: Node, value: Any, path: str, problems: list[Problem]) -> None:
    if value is None or node.kind is ANY:
        return
    kind = node.kind
    if kind is STRUCT or kind is MAP:
        if not isinstance(value, dict):
            problems.append((path, f"expected map, got &{{{plus_v(value)}}}"))
            return
        for key, member in value.items():
            child = node.fields.get(key) if kind is STRUCT else node.item
            if child is None:
                if node.open:
                    continue
                problems.append((f"{path}.{key}", "field not declared in schema"))
                return  # the walk of this object stops at its first undeclared field
            _walk(child, member, f"{path}.{key}", problems)
    elif kind is LIST:
        if not isinstance(value, list):
            problems.append((path, f"expected list, got &{{{plus_v(value)}}}"))
            return
        seen: set[str] = set()
        for index, member in enumerate(value):
            element, error = _element(node, index, member)
            if error or element is None:
                problems.append((path, error or ""))
                return
            if node.list_type != "atomic":
                if element in seen:
                    problems.append((path, f"duplicate entries for key {element}"))
                seen.add(element)
            _walk(node.item, member, path + element, problems)
    else:
        problem = _scalar(kind, value)
        if problem:
            problems.append((path, problem))


def _scalar(kind: str, value: Any) -> str | None:
    is_scalar = isinstance(value, (str, int, float)) or value is None
    if kind in (INT, FLOAT):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected numeric (int or float), got {type_of(value)}"
    elif kind in (STRING, BYTES):
        if not isinstance(value, str):
            return f"expected string, got &value.valueUnstructured{{Value:{sharp_v(value)}}}"
    elif kind is BOOL:
        if not isinstance(value, bool):
            return f"expected boolean, got &{{{plus_v(value)}}}"
    elif not is_scalar:  # IntOrString, Quantity, Time: any scalar
        return f"expected any scalar, got &{{{plus_v(value)}}}"
    return None


def typed_errors(node: Node, obj: Any) -> str | None:
    """The ``ValidationErrors`` text for ``obj``, or None if it converts."""
    problems: list[Problem] = []
    _walk(node, obj, "", problems)
    texts = [f"{path}: {message}" if path else message for path, message in problems]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else "\n  ".join(["errors:", *texts])


__all__ = ["typed_errors"]
