"""Label and field selectors: the query-string forms and ``LabelSelector`` objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Predicate = Callable[[dict], bool]

_TERM = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<val>\([^)]*\)|[A-Za-z0-9._-]*))?\s*$"
)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    terms, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


def _requirement(key: str, op: str, values: set[str], negated: bool
                 ) -> Callable[[dict[str, str]], bool]:
    if not op:
        return (lambda lb: key not in lb) if negated else (lambda lb: key in lb)
    if op in ("=", "=="):
        return lambda lb: lb.get(key) in values
    if op == "!=":
        return lambda lb: lb.get(key) not in values
    if op == "in":
        return lambda lb: lb.get(key) in values
    return lambda lb: lb.get(key) not in values


def parse_label_selector(text: str | None) -> Callable[[dict[str, str]], bool]:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h`` -> predicate over a label dict."""
    if not text:
        return lambda labels: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(text):
        m = _TERM.match(term)
        if not m:
            raise bad_request(f"unable to parse requirement: invalid label selector: {term!r}")
        op = (m["op"] or "").strip()
        raw = m["val"] or ""
        values = {v.strip() for v in raw.strip("()").split(",")} if raw.startswith("(") \
            else {raw}
        checks.append(_requirement(m["key"], op, values, bool(m["neg"])))
    return lambda labels: all(check(labels) for check in checks)


def _field_value(obj: dict, path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_field_selector(text: str | None) -> Predicate:
    """``metadata.name=x,metadata.namespace!=y`` (any dotted field path) -> object predicate."""
    if not text:
        return lambda obj: True
    checks: list[Predicate] = []
    for term in _split_terms(text):
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, want = m.groups()

        def check(obj: dict, path: str = path, op: str = op, want: str = want) -> bool:
            value = _field_value(obj, path)
            if value is None:
                text_value = ""
            elif isinstance(value, bool):
                text_value = str(value).lower()
            else:
                text_value = str(value)
            return (text_value == want) if op != "!=" else (text_value != want)

        checks.append(check)
    return lambda obj: all(check(obj) for check in checks)


def object_predicate(label_selector: str | None, field_selector: str | None) -> Predicate:
    """Combined predicate for a LIST/WATCH query."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)
    return lambda obj: labels(obj.get("metadata", {}).get("labels") or {}) and fields(obj)


def selector_matches(selector: dict | None, labels: dict[str, str] | None) -> bool:
    """Does a ``LabelSelector`` object (matchLabels/matchExpressions) match ``labels``?

    An empty or missing selector matches nothing, like a workload selector.
    """
    if not selector:
        return False
    labels = labels or {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_string(selector: dict | None) -> str:
    """``LabelSelector`` -> ``a=b,c in (x,y)`` (the form Scale.status.selector uses)."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def map_selector_matches(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    """A Service-style selector (plain map): every pair must be present. Empty matches nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())
