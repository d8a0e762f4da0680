"""kubectl's error output of an apply: which objects it refused, and the server's words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .kubectl import kind_name, resource_of

#: Lines of kubectl's error output that continue the error before them (a refused patch).
_CONTINUATION = ("Warning:", "{", "to:", "Resource:", "Name:", "for:")
_NAMED = re.compile(r'^Name: "([^"]+)"')
_AFTER_FILE = re.compile(r'error when \w+(?: \w+)? "[^"]*": ')
_SERVER_PREFIX = re.compile(
    r"^(?:Error from server(?: \([A-Za-z]+\))?|error|The request is invalid): ")
#: The whole object a refused patch quotes (``patch: Invalid value: "map[...]": ``).
_QUOTED_OBJECT = re.compile(r'Invalid value: "(?:[^"\\]|\\.){60,}": ')
#: kubectl's own refusal of a kind the server does not serve (no request is sent for it).
_NO_MAPPING = re.compile(r'^(?:error: )?resource mapping not found for name: "([^"]*)"'
                         r'(?: namespace: "[^"]*")? from "[^"]*": (.*)$')
_NO_MATCHES_KIND = re.compile(r'no matches for kind "([^"]+)"')
#: The hint kubectl prints once after every unmapped kind.
_CRD_HINT = "ensure CRDs are installed first"


def rejected(objects: Sequence[dict], stdout: str, stderr: str) -> list[tuple[str, str]]:
    """(``kind/name``, the server's message) for each object an ``apply -o name`` did not
    accept, in manifest order. kubectl names each accepted object on stdout and reports each
    refusal, in the same order, on stderr (a refused change may name its object in a
    ``Name: "..."`` line, a refused create does not; a kind the server does not serve is
    named by kubectl itself)."""
    accepted = {line.strip() for line in stdout.splitlines() if line.strip()}
    refused = [obj for obj in objects
               if f"{resource_of(obj)}/{(obj.get('metadata') or {}).get('name')}" not in accepted]
    found = []
    for index, (name, message) in enumerate(_errors(stderr)):
        obj = _named(refused, name, message) or (
            refused[index] if index < len(refused) else None)
        found.append((kind_name(obj) if obj else "an object", message))
    return found


def refusals(objects: Sequence[dict], stderr: str) -> list[str]:
    """Every refusal in an apply's error output (``-o json``: nothing on stdout says which
    objects were accepted), ``kind/name: message`` where kubectl names the object, else the
    server's message alone (which names it in the server's words)."""
    lines = []
    for name, message in _errors(stderr):
        obj = _named(objects, name, message)
        lines.append(f"{kind_name(obj)}: {message}" if obj else message)
    return lines


def _errors(stderr: str) -> list[tuple[str | None, str]]:
    """(the object's name where kubectl gives it, the message) for each error in kubectl's
    error output, warnings and continuation lines folded away."""
    errors: list[tuple[str | None, str]] = []
    hint = False
    for line in stderr.splitlines():
        if not line.strip() or line.startswith("Warning:"):
            continue
        if line.strip() == _CRD_HINT:
            hint = True
        elif unmapped := _NO_MAPPING.match(line):
            errors.append((unmapped.group(1), unmapped.group(2)))
        elif not line.startswith(_CONTINUATION) or not errors:
            errors.append((None, line))
        elif named := _NAMED.match(line):
            errors[-1] = (named.group(1), errors[-1][1])
        elif line.startswith("for: "):
            errors[-1] = (errors[-1][0], errors[-1][1] + line)
    found = []
    for name, text in errors:
        message = _AFTER_FILE.split(text)[-1] if _AFTER_FILE.search(text) else (
            _SERVER_PREFIX.sub("", text))
        if hint and _NO_MATCHES_KIND.search(message):
            message += f" ({_CRD_HINT})"
        found.append((name, _QUOTED_OBJECT.sub("", message).strip()))
    if hint and not found:
        found.append((None, _CRD_HINT))
    return found


def _named(objects: Sequence[dict], name: str | None, message: str) -> dict | None:
    """The object called ``name`` (of the kind ``message`` says kubectl has no match for)."""
    named = [o for o in objects if name and (o.get("metadata") or {}).get("name") == name]
    kind = _NO_MATCHES_KIND.search(message)
    return next((o for o in named if kind and o.get("kind") == kind.group(1)),
                named[0] if named else None)
