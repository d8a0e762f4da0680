"""What converting a strategic-merge-patched object into the Go type finds wrong.

Emulates ``runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation``, which the API
server runs on the result of a strategic merge patch: unknown members are collected with their
path (list indices, but not map keys) and sorted; the first value that does not convert stops
the conversion with the converter's own message (``unrecognized type: int32``, ``cannot
restore struct from: string``, ``cannot convert int64 to string``...).
"""

from __future__ import annotations

from typing import Any

from .goformat import go_json, kind_of
from .goparse import QUANTITY_FORMAT, QuantityError, base64_error, parse_quantity
from .jsondecode import Decoded, json_value, type_error
from .schemas import (
    ANY,
    BOOL,
    BYTES,
    FLOAT,
    INT,
    INT_OR_STRING,
    LIST,
    MAP,
    QUANTITY,
    STRING,
    STRUCT,
    TIME,
    Node,
)

_INT32 = (-(2**31), 2**31 - 1)


class _Stop(Exception):
    """Conversion failed with this message."""


class _Converter:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.unknown: list[str] = []
        self.places: list[tuple[dict, str]] = []

    def value(self, node: Node, value: Any, path: str) -> None:
        if value is None:
            return
        kind = node.kind
        if kind is STRUCT:
            if not isinstance(value, dict):
                raise _Stop(f"cannot restore struct from: {kind_of(value)}")
            fields = node.fields
            for key, member in value.items():
                child = fields.get(key)
                at = f"{path}.{key}" if path else key
                if child is not None:
                    self.value(child, member, at)
                elif not node.open:
                    self.places.append((value, key))
                    if self.strict:
                        self.unknown.append(at)
        elif kind is MAP:
            if not isinstance(value, dict):
                raise _Stop(f"cannot restore map from {kind_of(value)}")
            for member in value.values():
                self.value(node.item, member, path)  # the converter does not name map keys
        elif kind is LIST:
            if not isinstance(value, list):
                raise _Stop(f"cannot restore slice from {kind_of(value)}")
            for index, member in enumerate(value):
                self.value(node.item, member, f"{path}[{index}]")
        elif kind is not ANY:
            problem = convert_scalar(node, value)
            if problem:
                raise _Stop(problem)


def convert_scalar(node: Node, value: Any) -> str | None:
    """The converter's error for a scalar ``value`` going into ``node``, if any."""
    kind, source = node.kind, kind_of(value)
    if kind is STRING:
        if source == "int64":
            return f"cannot convert int64 to {node.go}"
        return None if source == "string" else "unrecognized type: string"
    if kind is BOOL:
        return None if source == "bool" else "unrecognized type: bool"
    if kind is INT:
        if source == "int64":
            return None
        if source == "float64":
            return None if value == int(value) else f"cannot convert float64 to {node.go}"
        return f"unrecognized type: {node.go}"
    if kind is FLOAT:
        return None if source in ("int64", "float64") else "unrecognized type: float64"
    if kind is BYTES:
        if source == "string":
            return base64_error(value)
        return None if source == "slice" else f"cannot restore slice from {source}"
    return _custom(node, value, source)


def _custom(node: Node, value: Any, source: str) -> str | None:
    """Types with their own JSON unmarshaller, fed ``json.Marshal`` of the value."""
    if node.kind is INT_OR_STRING:
        if source == "string" or (source == "int64" and _INT32[0] <= value <= _INT32[1]):
            return None
        if source == "float64" and value == int(value) and _INT32[0] <= value <= _INT32[1]:
            return None
        shown = f"number {go_json(value)}" if source in ("int64", "float64") else \
            json_value(value)
        return type_error(shown, "int32", "", "")
    if node.kind is QUANTITY:
        if source not in ("string", "int64", "float64"):
            return QUANTITY_FORMAT
        try:
            parse_quantity(value.strip() if source == "string" else go_json(value))
        except QuantityError as exc:
            return str(exc)
        return None
    if node.kind is TIME and source != "string":
        return type_error(json_value(value), "string", "", "")
    return None


def convert(node: Node, obj: Any, *, strict: bool) -> Decoded:
    """Convert ``obj`` into ``node``; unknown fields come back sorted as the server sorts them."""
    converter = _Converter(strict)
    try:
        converter.value(node, obj, "")
    except _Stop as stop:
        return Decoded(error=str(stop))
    ordered = sorted(converter.unknown, key=lambda path: f'unknown field "{path}"')
    return Decoded(unknown=ordered, places=converter.places)


__all__ = ["convert", "convert_scalar"]
