"""Unknown fields and wrong types in a write, answered as the API server answers them.

``fieldValidation`` is ``Strict`` (kubectl's default: unknown fields are an error), ``Warn`` (the
server's default: stored, one ``Warning`` per unknown field) or ``Ignore``. A value of the wrong
type is an error in every mode. What the error looks like depends on the write:

- create and update (POST, PUT): 400 ``Deployment in version "v1" cannot be handled as a
  Deployment: strict decoding error: unknown field "spec.x"`` (or the ``json: cannot
  unmarshal ...`` type error);
- JSON and merge patches (the patched object is decoded) and strategic merge patches (it is
  converted): 422 ``patch: Invalid value: "...": strict decoding error: ...``, the value being
  the patched object's JSON, respectively the patch as Go prints a map;
- server-side apply (the applied object is typed, whatever the mode): 500
  ``failed to create typed patch object (NS/NAME; apps/v1, Kind=Deployment): .spec.x: field not
  declared in schema``.

Kinds without a schema are not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ApiError, bad_request
from .goformat import go_json, plus_v, quote
from .jsondecode import Decoded, decode
from .resources import ResourceType
from .schemas import schema_for
from .typedapply import typed_errors
from .unstructured import convert

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"


def directive(field_validation: str | None) -> str:
    """The mode in effect: the query parameter, ``Warn`` when absent (the server's default)."""
    return field_validation or WARN


def strict_error(unknown: list[str]) -> str:
    """``strict decoding error: unknown field "a", unknown field "b"``."""
    return "strict decoding error: " + ", ".join(f'unknown field "{path}"' for path in unknown)


def _settle(decoded: Decoded, mode: str, warnings: list[str] | None) -> str | None:
    """The error to answer with. Under Warn the unknown fields become warnings; unless the
    answer is an error they are dropped from the object, which is what gets stored."""
    if decoded.error:
        return decoded.error
    if decoded.unknown and mode == STRICT:
        return strict_error(decoded.unknown)
    if warnings is not None and mode == WARN:
        warnings.extend(f'unknown field "{path}"' for path in decoded.unknown)
    decoded.drop_unknown()
    return None


def _problem(rt: ResourceType, obj: dict, field_validation: str | None,
             warnings: list[str] | None, check: Callable[..., Decoded]) -> str | None:
    """What ``check`` (decoding or conversion into the kind's Go type) finds wrong in
    ``obj`` under the request's field validation (None: nothing, or no schema)."""
    node = schema_for(rt.group_version, rt.kind)
    if node is None:
        return None
    mode = directive(field_validation)
    return _settle(check(node, obj, strict=mode != IGNORE), mode, warnings)


def check_body(rt: ResourceType, body: dict, field_validation: str | None,
               warnings: list[str] | None = None) -> None:
    """POST / PUT: 400 if decoding ``body`` into the kind's Go type fails."""
    problem = _problem(rt, body, field_validation, warnings, decode)
    if problem:
        raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                          f"{rt.kind}: {problem}")


def check_patched(rt: ResourceType, patched: dict, field_validation: str | None,
                  warnings: list[str] | None = None) -> None:
    """JSON / merge patch: 422 if the patched object does not decode."""
    problem = _problem(rt, patched, field_validation, warnings, decode)
    if problem:
        raise invalid_patch(quote(go_json(patched)), problem)


def check_strategic(rt: ResourceType, patched: dict, patch: Any, field_validation: str | None,
                    warnings: list[str] | None = None) -> None:
    """Strategic merge patch: 422 if the patched object does not convert."""
    problem = _problem(rt, patched, field_validation, warnings, convert)
    if problem:
        raise invalid_patch(quote(plus_v(patch)), problem)


def check_applied(rt: ResourceType, applied: dict) -> None:
    """Server-side apply: 500 if the applied object does not fit the schema."""
    node = schema_for(rt.group_version, rt.kind)
    if node is None:
        return
    problem = typed_errors(node, applied)
    if problem:
        meta = applied.get("metadata") if isinstance(applied.get("metadata"), dict) else {}
        where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
        gvk = f"{rt.group}/{rt.version}, Kind={rt.kind}"
        raise ApiError(500, "", f"failed to create typed patch object ({where}; {gvk}): "
                       f"{problem}")


def invalid_patch(shown: str, detail: str) -> ApiError:
    """422 `` "" is invalid: patch: Invalid value: SHOWN: DETAIL`` (no kind, no name)."""
    body = f"Invalid value: {shown}: {detail}"
    return ApiError(422, "Invalid", f' "" is invalid: patch: {body}',
                    {"causes": [{"reason": "FieldValueInvalid", "message": body,
                                 "field": "patch"}]})


__all__ = ["IGNORE", "STRICT", "WARN", "check_applied", "check_body", "check_patched",
           "check_strategic", "directive", "invalid_patch", "strict_error"]
