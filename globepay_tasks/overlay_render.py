"""Render an overlay as ``kubectl kustomize`` does, faster when it has many ``images:``
entries: kustomize renders a copy of the overlay without them (beside it, so that its
relative paths hold) and `kustomize_images` sets them. Only where that gives kustomize's
own result: nothing in the overlay runs after its images or changes where they are
(``replacements``, ``transformers``, ``vars``, ``configurations``, ...), every base and
component is a local directory, and each entry is one `kustomize_images` runs exactly.
Anything else, or a copy that cannot be made, is rendered by kustomize as it is."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import kustomize_images, workloads
from .errors import ConfigError
from .kustomize_images import Unsupported
from .manifests import Rendered
from .runner import Runner

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Fields of any kustomization in the overlay's tree that reach the overlay's own images
#: transformer: merged transformer configurations, vars resolved at the top.
_ANYWHERE = ("configurations", "crds", "vars")
#: Fields of the overlay's own kustomization that run after its images.
_AFTER = ("replacements", "transformers", "validators", "buildMetadata", "imageTags")
#: A top-level ``images:`` block of a kustomization written as YAML block style.
_IMAGES_BLOCK = re.compile(r"(?m)^images:[^\n]*\n(?:(?:[ \t-]|#)[^\n]*\n|[ \t]*\n)*")
#: Files an overlay directory may hold to be copied (more is left to kustomize as it is).
MAX_FILES = 500


@dataclass(frozen=True)
class Overlay:
    """An overlay as rendered, and whether images may be set on it in Python (exactly as an
    ``images:`` entry added to a kustomization over it would)."""

    rendered: Rendered
    images_in_python: bool


def render(runner: Runner, kubectl_bin: str, overlay: Path) -> Overlay:
    """``kubectl kustomize OVERLAY`` (`workloads.render`), its own ``images:`` set in Python
    where that is kustomize's result."""
    try:
        kustomization, text, document = _read(overlay)
        _check_tree(overlay, document, set())
        if any(document.get(key) for key in _AFTER):
            raise Unsupported("a field that runs after images")
        rules = kustomize_images.entries(document.get("images") or [])
        if not rules:
            return Overlay(workloads.render(runner, kubectl_bin, str(overlay)), True)
        rendered = _without_images(runner, kubectl_bin, overlay, kustomization, text, document)
        return Overlay(kustomize_images.set_images(rendered, rules), True)
    except (Unsupported, OSError):
        return Overlay(workloads.render(runner, kubectl_bin, str(overlay)), False)


def _without_images(runner: Runner, kubectl_bin: str, overlay: Path, kustomization: Path,
                    text: str, document: Mapping) -> Rendered:
    """The overlay rendered by kustomize without its ``images:``; `Unsupported` when they
    cannot be taken out alone, or when the copy does not build (rendered as it is, kustomize
    names the overlay itself in its error)."""
    stripped = _IMAGES_BLOCK.sub("", text, count=1)
    if _load(stripped) != {k: v for k, v in document.items() if k != "images"}:
        raise Unsupported("images: is not a block of its own")
    copied = _copy(overlay, kustomization.name, stripped)
    try:
        rendered = workloads.render(runner, kubectl_bin, copied)
    except ConfigError:
        raise Unsupported("the copy does not build") from None
    finally:
        shutil.rmtree(copied, ignore_errors=True)
    return replace(rendered, overlay=str(overlay), kustomization=str(overlay))


def with_images(overlay: Overlay, image_entries: list[dict]) -> Rendered:
    """The overlay with ``image_entries`` (`workloads.image_entries`) set, as a
    kustomization over it with those ``images:`` renders it."""
    return kustomize_images.set_images(overlay.rendered,
                                       kustomize_images.entries(image_entries))


def _load(text: str) -> object:
    import yaml  # here, not at the top: off the start-up path of every task

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        raise Unsupported("not YAML") from None


def _read(directory: Path) -> tuple[Path, str, Mapping]:
    """The directory's kustomization file, its text and its content."""
    for name in KUSTOMIZATION_FILES:
        path = directory / name
        if path.is_file():
            try:
                text = path.read_text()
            except (OSError, UnicodeDecodeError):
                raise Unsupported(f"{path} cannot be read") from None
            document = _load(text)
            if not isinstance(document, dict):
                raise Unsupported(f"{path} is not a mapping")
            return path, text, document
    raise Unsupported(f"no kustomization in {directory}")


def _check_tree(directory: Path, document: Mapping, seen: set[Path]) -> None:
    """`Unsupported` when a kustomization in the tree under ``directory`` (``document``: its
    own) reaches the top's images transformer, or names a base or component that is not a
    local directory or file (a remote one: kustomize alone knows what it holds)."""
    seen.add(directory.resolve())
    if any(document.get(key) for key in _ANYWHERE):
        raise Unsupported("a field that reaches the images transformer")
    for key in ("resources", "components", "bases"):
        for entry in document.get(key) or []:
            if not isinstance(entry, str):
                raise Unsupported(f"{key} entry {entry!r}")
            path = directory / entry
            if path.is_dir():
                if path.resolve() not in seen:
                    _check_tree(path, _read(path)[2], seen)
            elif not path.is_file():
                raise Unsupported(f"{entry} is not a local file or directory")


def _copy(overlay: Path, kustomization: str, text: str) -> str:
    """A copy of ``overlay`` beside it (its relative paths lead where the overlay's do) with
    ``text`` as its kustomization: the directory, removed by the caller."""
    count = sum(len(files) + len(dirs) for _, dirs, files in os.walk(overlay))
    if count > MAX_FILES:
        raise Unsupported(f"{count} files in {overlay}")
    copied = tempfile.mkdtemp(prefix=f".{overlay.name}.globepay-render-", dir=overlay.parent)
    try:
        shutil.copytree(overlay, copied, symlinks=True, dirs_exist_ok=True)
        Path(copied, kustomization).write_text(text)
    except OSError:
        shutil.rmtree(copied, ignore_errors=True)
        raise
    return copied
