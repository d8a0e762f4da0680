"""A rendered overlay as objects and as the manifest applied: the part of it one phase
applies, its images set, workloads annotated; each object rewritten changes its document
only. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import images, kinds, kubectl
from .kubectl import WorkloadRef

#: Where one document of a multi-document manifest ends.
_DOCUMENT = re.compile(r"(?m)^---[ \t]*\n")


@dataclass(frozen=True)
class Rendered:
    """An overlay rendered by kustomize: its objects, workloads, the kustomization it came
    from, and the rendered ``manifest`` (what is applied)."""

    overlay: str
    objects: tuple[dict, ...]
    workloads: tuple[WorkloadRef, ...]
    kustomization: str
    manifest: str = ""

    def namespaces(self) -> set[str]:
        return {obj["metadata"].get("namespace", "") for obj in self.objects}


def subset(rendered: Rendered, keep: Callable[[dict], bool]) -> Rendered:
    """The objects of ``rendered`` that ``keep`` selects, each with its document of the
    manifest as it was."""
    documents = split_documents(rendered)
    kept = [(obj, text) for obj, text in zip(rendered.objects, documents, strict=True)
            if keep(obj)]
    objects = tuple(obj for obj, _ in kept)
    return Rendered(rendered.overlay, objects, tuple(kubectl.workloads_in(objects)),
                    rendered.kustomization, "---\n".join(text for _, text in kept))


def split_documents(rendered: Rendered) -> list[str]:
    """The manifest's document of each object, in order (each object written as JSON when
    the manifest does not have one document an object)."""
    documents = [text for text in _DOCUMENT.split(rendered.manifest) if text.strip()]
    if len(documents) != len(rendered.objects):
        documents = [json.dumps(obj) + "\n" for obj in rendered.objects]
    return documents


def rendered_images(rendered: Rendered) -> set[str]:
    images: set[str] = set()
    for obj in rendered.objects:
        if kinds.is_templated(obj):
            images.update(kinds.images_of(obj).values())
    return images


def annotated(rendered: Rendered, annotations: Mapping[WorkloadRef, Mapping[str, str]]) -> str:
    """The rendered manifest with ``annotations`` added to the named workloads (each such
    document written again as JSON; the others as kustomize rendered them)."""

    def annotate(obj: dict) -> bool:
        changed = with_annotations(obj, annotations)
        if changed is obj:
            return False
        obj["metadata"] = changed["metadata"]
        return True

    return _rewritten(rendered.manifest, annotate)[0] if annotations else rendered.manifest


def with_annotations(obj: dict, annotations: Mapping[WorkloadRef, Mapping[str, str]]) -> dict:
    """``obj`` with the annotations ``annotations`` names for it (itself when none)."""
    added = annotations.get(WorkloadRef(obj.get("kind", ""),
                                        (obj.get("metadata") or {}).get("name", "")))
    if not added:
        return obj
    metadata = obj.get("metadata") or {}
    return {**obj, "metadata": {**metadata,
                                "annotations": {**(metadata.get("annotations") or {}),
                                                **added}}}


def with_images(rendered: Rendered, overrides: Mapping[str, str]) -> Rendered:
    """``rendered`` with the images ``overrides`` names (short name or repository -> full
    reference) set in the pod templates (a CronJob's job template too), containers and init
    containers, as ``kubectl set image`` would set them; everything else as kustomize
    rendered it."""

    order = {name: index for index, name in enumerate(overrides)}

    def set_images(obj: dict) -> bool:
        if not kinds.is_templated(obj):
            return False
        changed = False
        for container in kinds.containers_of(obj):
            image = container.get("image", "")
            named = [name for name in (images.repository(image), images.short_name(image))
                     if name in order]  # the first override that `images.selects` it
            ref = overrides[min(named, key=order.__getitem__)] if named else None
            if ref is not None and ref != image:
                container["image"], changed = ref, True
        return changed

    manifest, objects = _rewritten(rendered.manifest, set_images)
    return Rendered(rendered.overlay, tuple(objects), rendered.workloads,
                    rendered.kustomization, manifest)


def _rewritten(manifest: str, edit: Callable[[dict], bool]) -> tuple[str, list[dict]]:
    """A multi-document manifest with each object ``edit`` changed (it says so) written
    again as JSON, the others as they were; and its objects."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents, objects = [], []
    for text in _DOCUMENT.split(manifest):
        obj = yaml.load(text, Loader=loader)
        if not isinstance(obj, dict):
            continue
        if edit(obj):
            text = json.dumps(obj) + "\n"
        documents.append(text)
        objects.append(obj)
    return "---\n".join(documents), objects
