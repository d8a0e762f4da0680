"""How Go prints decoded JSON values, for error messages that quote them.

Unstructured JSON in Go is ``map[string]interface {}``, ``[]interface {}``, ``string``,
``int64`` (the API server decodes integers as int64), ``float64``, ``bool`` and ``nil``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                       "\u2028": "\\u2028", "\u2029": "\\u2029"})


def quote(text: str) -> str:
    """``strconv.Quote`` (``%q``) for the characters that occur in practice."""
    return json.dumps(text, ensure_ascii=False)


def go_json(value: Any) -> str:
    """``json.Marshal``: compact, map keys sorted, ``<``, ``>`` and ``&`` escaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).translate(_HTML)


def kind_of(value: Any) -> str:
    """``reflect.Kind`` of a decoded value (``string``, ``int64``, ``map``, ``slice``...)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    return "invalid"


def type_of(value: Any) -> str:
    """``%T`` of a decoded value."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return "<nil>" if value is None else kind_of(value)


def float_v(number: float) -> str:
    """``%v`` of a float64 (``strconv`` ``g``, shortest): exponent form outside [1e-4, 1e6)."""
    if number != number or number in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(number)]
    if number == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # position of the decimal point
    x = point - 1
    if x < -4 or x >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = f"{text[:point]}.{text[point:]}"
    return ("-" if sign else "") + body


def duration(seconds: float) -> str:
    """``time.Duration.String()`` of whole seconds: ``10s``, ``1m20s``, ``5m0s``, ``1h0m0s``."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def plus_v(value: Any) -> str:
    """``%+v`` (same as ``%v``) of unstructured JSON: ``map[a:1 b:[x y]]``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_v(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{plus_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(plus_v(v) for v in value) + "]"
    return str(value)


def sharp_v(value: Any) -> str:
    """``%#v`` of unstructured JSON: ``map[string]interface {}{"a":"b"}``."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{quote(k)}:{sharp_v(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(sharp_v(v) for v in value) + "}"
    return plus_v(value)


__all__ = ["duration", "float_v", "go_json", "kind_of", "plus_v", "quote", "sharp_v", "type_of"]
