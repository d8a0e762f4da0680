"""``kubectl diff`` output without what every apply changes by itself: the
``last-applied-configuration`` annotation (one long JSON line per object), the change-cause
the tool writes on each workload it changes, and ``metadata.generation``. A hunk left with no
change goes, and so does an object left with no hunk. Pure functions, no I/O."""

from __future__ import annotations

import re

from .kubectl import LAST_APPLIED_ANNOTATION

_LAST_APPLIED = re.compile(rf"^(\s*){re.escape(LAST_APPLIED_ANNOTATION)}:")
_GENERATION = re.compile(r"^  generation: \d+$")
_CHANGE_CAUSE = re.compile(r"^    kubernetes\.io/change-cause: ")


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _hunk_body(lines: list[str]) -> list[str]:
    """The lines of one hunk without the noise (per side: a block scalar's lines go with its
    key)."""
    kept, skipping = [], {}
    for line in lines:
        sign, text = line[:1], line[1:]
        if sign in skipping and text.strip() and _indent(text) > skipping[sign]:
            continue
        skipping.pop(sign, None)
        found = _LAST_APPLIED.match(text)
        if found:
            skipping[sign] = len(found.group(1))
            continue
        if sign in "+-" and (_GENERATION.match(text) or _CHANGE_CAUSE.match(text)):
            continue
        kept.append(line)
    return kept


def without_noise(text: str) -> str:
    """``text`` (unified diffs, one per object, as ``kubectl diff`` prints them) without the
    noise."""
    out: list[str] = []
    for section in re.split(r"(?m)^(?=diff )", text):
        if not section:
            continue
        header, hunks, current = [], [], None
        for line in section.splitlines():
            if line.startswith("@@"):
                current = [line]
                hunks.append(current)
            elif current is None:
                header.append(line)
            else:
                current.append(line)
        kept = []
        for hunk in hunks:
            body = _hunk_body(hunk[1:])
            if any(line[:1] in "+-" for line in body):
                kept.append([hunk[0], *body])
        if kept or not hunks and not section.startswith("diff "):
            out += header + [line for hunk in kept for line in hunk]
    return "".join(line + "\n" for line in out)
