"""What decoding a JSON body into the Go type finds wrong (create, update, JSON/merge patch).

Emulates the API server's JSON serializer (sigs.k8s.io/json, strict when ``fieldValidation`` is
Strict or Warn) walking a :class:`~.schemas.Node` tree in document order:

- unknown members are collected with their full path (``spec.template.spec.containers[0].x``),
  each once, at most 100;
- a value of the wrong JSON type is a ``json: cannot unmarshal string into Go struct field
  DeploymentSpec.spec.replicas of type int32`` error (struct = the innermost Go struct, path
  without list indices or map keys); the first one is kept and decoding goes on;
- a type with its own unmarshaller (IntOrString, Quantity, Time) that fails stops decoding, and
  its error wins;
- any error wins over unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .goformat import float_v
from .goparse import QUANTITY_FORMAT, QuantityError, base64_error, parse_quantity
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

MAX_STRICT_ERRORS = 100
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
               "int": (-(2**63), 2**63 - 1)}


@dataclass
class Decoded:
    """The outcome: ``unknown`` field paths (strict only), the first decoding ``error``, and
    where the unknown members are (``(object, key)``), for :meth:`drop_unknown`."""

    unknown: list[str] = field(default_factory=list)
    error: str | None = None
    places: list[tuple[dict, str]] = field(default_factory=list, repr=False)

    def drop_unknown(self) -> None:
        """Remove the unknown members, as decoding into the Go type does (in place)."""
        for parent, key in self.places:
            parent.pop(key, None)


class _Stop(Exception):
    """An unmarshaller failed: decoding ends with this message."""


def json_value(value: Any) -> str:
    """How the decoder names a JSON value in a type error (``string``, ``number 1.5``...)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "number"


def _number(value: int | float) -> str:
    """``number LITERAL`` (the literal as JSON most likely wrote it)."""
    return f"number {value!r}"


def type_error(value: str, go_type: str, struct: str, path: str) -> str:
    """``json: cannot unmarshal VALUE into Go struct field STRUCT.PATH of type GO_TYPE``."""
    if struct or path:
        return f"json: cannot unmarshal {value} into Go struct field {struct}.{path} of type " \
               f"{go_type}"
    return f"json: cannot unmarshal {value} into Go value of type {go_type}"


class _Decoder:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.result = Decoded()
        self._seen: set[str] = set()

    def save(self, message: str) -> None:
        if self.result.error is None:
            self.result.error = message

    def unknown(self, parent: dict, key: str, path: str) -> None:
        self.result.places.append((parent, key))
        if self.strict and path not in self._seen and \
                len(self.result.unknown) < MAX_STRICT_ERRORS:
            self._seen.add(path)
            self.result.unknown.append(path)

    def value(self, node: Node, value: Any, path: str, tpath: str, struct: str) -> None:
        if value is None:
            return
        kind = node.kind
        if kind is STRUCT:
            if not isinstance(value, dict):
                self.mismatch(node, value, tpath, struct)
                return
            fields = node.fields
            for key, member in value.items():
                child = fields.get(key)
                at = f"{path}.{key}" if path else key
                if child is not None:
                    self.value(child, member, at, f"{tpath}.{key}" if tpath else key,
                               node.struct)
                elif not node.open:
                    self.unknown(value, key, at)
        elif kind is MAP:
            if not isinstance(value, dict):
                self.mismatch(node, value, tpath, struct)
                return
            item = node.item
            for key, member in value.items():
                self.value(item, member, f"{path}.{key}" if path else key, tpath, struct)
        elif kind is LIST:
            if not isinstance(value, list):
                self.mismatch(node, value, tpath, struct)
                return
            item = node.item
            for index, member in enumerate(value):
                self.value(item, member, f"{path}[{index}]", tpath, struct)
        elif kind is not ANY:
            self.scalar(node, value, tpath, struct)

    def mismatch(self, node: Node, value: Any, tpath: str, struct: str) -> None:
        self.save(type_error(json_value(value), node.go, struct, tpath))

    def scalar(self, node: Node, value: Any, tpath: str, struct: str) -> None:
        kind, is_bool = node.kind, isinstance(value, bool)
        if kind is STRING:
            if not isinstance(value, str):
                self.mismatch(node, value, tpath, struct)
        elif kind is INT:
            if is_bool or not isinstance(value, (int, float)):
                self.mismatch(node, value, tpath, struct)
            elif not _fits(value, node.go):
                self.save(type_error(_number(value), node.go, struct, tpath))
        elif kind is FLOAT:
            if is_bool or not isinstance(value, (int, float)):
                self.mismatch(node, value, tpath, struct)
        elif kind is BOOL:
            if not is_bool:
                self.mismatch(node, value, tpath, struct)
        elif kind is BYTES:
            if isinstance(value, str):
                problem = base64_error(value)
                if problem:
                    self.save(problem)
            elif not isinstance(value, list):
                self.mismatch(node, value, tpath, struct)
        elif kind is INT_OR_STRING:
            if not isinstance(value, str) and (is_bool or not _fits(value, "int32")):
                described = _number(value) if isinstance(value, (int, float)) and not is_bool \
                    else json_value(value)
                raise _Stop(type_error(described, "int32", struct, tpath))
        elif kind is QUANTITY:
            _quantity(value)
        elif kind is TIME and not isinstance(value, str):
            raise _Stop(type_error(json_value(value), "string", struct, tpath))


def _fits(value: Any, go_type: str) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    low, high = _INT_RANGES.get(go_type, _INT_RANGES["int64"])
    return low <= value <= high


def _quantity(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Stop(QUANTITY_FORMAT)
    text = value.strip() if isinstance(value, str) else \
        (str(value) if isinstance(value, int) else float_v(value))
    try:
        parse_quantity(text)
    except QuantityError as exc:
        raise _Stop(str(exc)) from None


def decode(node: Node, obj: Any, *, strict: bool) -> Decoded:
    """Decode ``obj`` against ``node``; ``strict`` collects unknown fields."""
    decoder = _Decoder(strict)
    try:
        decoder.value(node, obj, "", "", "")
    except _Stop as stop:
        decoder.result.error = str(stop)
    return decoder.result


__all__ = ["Decoded", "decode", "json_value", "type_error"]
