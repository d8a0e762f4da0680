"""Values the API server parses with Go code: resource quantities and standard base64.

Ports of ``resource.ParseQuantity`` (k8s.io/apimachinery) and of the error offsets of Go's
``base64.StdEncoding.Decode``, with their error messages.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

QUANTITY_FORMAT = ("quantities must match the regular expression "
                   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
QUANTITY_SUFFIX = "unable to parse quantity's suffix"
QUANTITY_NUMERIC = "unable to parse numeric part of quantity"

_DECIMAL = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DIGITS = frozenset("0123456789")
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class QuantityError(ValueError):
    """A string ``resource.ParseQuantity`` refuses; the message is the server's."""


def _split(text: str) -> tuple[str, str]:
    """(number, suffix) as ``parseQuantityString`` scans them."""
    pos, end = 0, len(text)
    if pos < end and text[0] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end and text[pos] == ".":
        pos += 1
        while pos < end and text[pos] in _DIGITS:
            pos += 1
    number, start = text[:pos], pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(QUANTITY_FORMAT)
    return number, text[start:]


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity such as ``500Mi``, ``0.5`` or ``1e3``."""
    if not text:
        raise QuantityError(QUANTITY_FORMAT)
    number, suffix = _split(text)
    if suffix in _DECIMAL:
        scale = Decimal(10) ** _DECIMAL[suffix]
    elif suffix in _BINARY:
        scale = Decimal(2) ** _BINARY[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and _is_int(suffix[1:]):
        scale = Decimal(10) ** int(suffix[1:])
    else:
        raise QuantityError(QUANTITY_SUFFIX)
    digits = number.lstrip("+-")
    if digits in ("", ".") or digits.count(".") > 1:
        return Decimal(0)  # Go reads an empty numerator as 0
    try:
        value = Decimal(digits if not digits.endswith(".") else digits[:-1])
    except InvalidOperation:
        raise QuantityError(QUANTITY_NUMERIC) from None
    return (-value if number.startswith("-") else value) * scale


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in ("+", "-") else text
    return bool(body) and all(c in _DIGITS for c in body)


def base64_error(text: str) -> str | None:
    """Go's ``illegal base64 data at input byte N`` for ``text``, None if it decodes."""
    data = text.encode()
    size, si = len(data), 0
    while True:
        j = 0
        while j < 4:
            if si == size:
                return None if j == 0 else _b64(si - j)
            char = chr(data[si])
            si += 1
            if char in _B64:
                j += 1
                continue
            if char in "\r\n":
                continue
            if char != "=" or j < 2:
                return _b64(si - 1)
            if j == 2:  # "==" expected: the first "=" is consumed
                si = _skip_newlines(data, si)
                if si == size:
                    return _b64(size)
                if chr(data[si]) != "=":
                    return _b64(si - 1)
                si += 1
            si = _skip_newlines(data, si)
            return _b64(si) if si < size else None


def _skip_newlines(data: bytes, si: int) -> int:
    while si < len(data) and data[si] in b"\r\n":
        si += 1
    return si


def _b64(offset: int) -> str:
    return f"illegal base64 data at input byte {offset}"


__all__ = ["QuantityError", "base64_error", "parse_quantity"]
