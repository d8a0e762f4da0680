"""Kustomize's images transformer (a kustomization's ``images:``) in Python, for the entries
and objects it runs exactly as kustomize 5.5 to 5.8 (kubectl 1.32 to 1.37) do. Kustomize
runs each entry over every object (entries x objects): rendering a large overlay is slow.
Pure functions, no I/O.

What kustomize does, entry by entry in order: every ``image`` of a list named
``containers`` or ``initContainers`` anywhere in an object (CustomResourceDefinitions left
alone) is matched against ``^NAME(:TAG)?(@sha256:DIGEST)?$`` (NAME as a regular
expression) and gets the entry's ``newName``, ``newTag`` and ``digest``."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .manifests import Rendered, split_documents

#: An entry's name made of these only is the same regular expression to Go and to Python.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./:-]+")
_SUFFIX = r"(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?\Z"
_FIELDS = ("newName", "newTag", "digest")


class Unsupported(Exception):
    """Something in the entries or the objects that only kustomize itself should decide."""


@dataclass(frozen=True)
class Entry:
    """One ``images:`` entry."""

    name: str
    new_name: str = ""
    new_tag: str = ""
    digest: str = ""
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile("^" + self.name + _SUFFIX))

    def matches(self, image: str) -> bool:
        return self.pattern.match(image) is not None

    def applied(self, image: str) -> str:
        """``image`` as this entry leaves it."""
        if not self.matches(image):
            return image
        name, tag, digest = split(image)
        name = self.new_name or name
        if self.new_tag or self.digest:  # either replaces both the tag and the digest
            tag, digest = self.new_tag, self.digest
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def entries(raw: object) -> tuple[Entry, ...]:
    """A kustomization's ``images:`` as entries; `Unsupported` for anything but a list of
    mappings of plain names and string ``newName``/``newTag``/``digest`` (a ``tagSuffix``,
    a number where kustomize wants a string, a name with regular expression syntax)."""
    if not isinstance(raw, list):
        raise Unsupported("images: is not a list")
    found = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"name", *_FIELDS}:
            raise Unsupported(f"images entry {item!r}")
        values = [item.get(key, "") for key in ("name", *_FIELDS)]
        if not all(isinstance(value, str) for value in values) or not _PLAIN_NAME.fullmatch(
                values[0]):
            raise Unsupported(f"images entry {item!r}")
        found.append(Entry(*values))
    return tuple(found)


def split(image: str) -> tuple[str, str, str]:
    """Name, tag and digest of an image reference, as kustomize splits it (the first ``:``
    or ``@`` after the first ``/``)."""
    start = max(image.find("/"), 0)
    at, colon = image.find("@", start), image.find(":", start)
    if at < 0 and colon < 0:
        return image, "", ""
    if at >= 0 and (colon < 0 or at < colon):
        return image[:at], "", image[at + 1:]
    if at >= 0:
        return image[:colon], image[colon + 1:at], image[at + 1:]
    return image[:colon], image[colon + 1:], ""


def _slots(obj: dict) -> Iterator[tuple[dict, str]]:
    """Each (mapping, key) that holds an image kustomize would set in ``obj``."""
    if obj.get("kind") == "CustomResourceDefinition":
        return
    yield from _containers(obj)
    spec = obj.get("spec")
    for pod in (spec, (spec.get("template") or {}).get("spec") if isinstance(spec, dict)
                else None):
        if pod is None:
            continue
        if not isinstance(pod, dict):
            raise Unsupported("a spec that is not a mapping")
        for key in ("containers", "initContainers", "volumes"):
            if not isinstance(pod.get(key, []), list):
                raise Unsupported(f"{key} is not a list")
        if any(isinstance(volume, dict) and "image" in volume
               for volume in pod.get("volumes") or []):
            raise Unsupported("an image volume (set by kustomize 5.8, not by 5.5)")


def _containers(node: object) -> Iterator[tuple[dict, str]]:
    """kustomize's walk: the items of every ``containers`` or ``initContainers`` list."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _containers(value)
            if key in ("containers", "initContainers") and isinstance(value, list):
                yield from ((item, "image") for item in value
                            if isinstance(item, dict) and "image" in item)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


def transformed(obj: dict, rules: Sequence[Entry]) -> dict | None:
    """A copy of ``obj`` with every entry applied in turn, or None when none changes it."""
    values = []
    for holder, key in _slots(obj):
        value = holder[key]
        if value is not None and (not isinstance(value, str)
                                  or "@" in value and "@sha256:" not in value):
            raise Unsupported(f"image {value!r}: not a string, or another digest algorithm "
                              f"(matched differently by kustomize's versions)")
        new = value
        for rule in rules if value is not None else ():
            new = rule.applied(new)
        values.append((value, new))
    if all(value == new for value, new in values):
        return None
    result = copy.deepcopy(obj)  # the same walk over the copy meets the same slots
    for (holder, key), (_, new) in zip(_slots(result), values, strict=True):
        holder[key] = new
    return result


def set_images(rendered: Rendered, rules: Sequence[Entry]) -> Rendered:
    """``rendered`` as kustomize renders it with ``rules`` added last to its ``images:``:
    each object that changes is written again as JSON, the others as they were."""
    documents = split_documents(rendered)
    objects, texts = [], []
    for obj, text in zip(rendered.objects, documents, strict=True):
        new = transformed(obj, rules) if rules else None
        objects.append(obj if new is None else new)
        texts.append(text if new is None else json.dumps(new) + "\n")
    return Rendered(rendered.overlay, tuple(objects), rendered.workloads,
                    rendered.kustomization, "---\n".join(texts))
