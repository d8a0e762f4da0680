"""Image references: their parts, digests reported by the cluster, and names that select them.

Pure functions; a reference is ``[registry/]path[:tag][@sha256:hex]``.
"""

from __future__ import annotations

from collections.abc import Iterable


def repository(ref: str) -> str:
    """The reference without tag and digest: ``registry/globepay/backend``."""
    repo = ref.split("@", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    return repo.rsplit(":", 1)[0] if ":" in last else repo


def short_name(ref: str) -> str:
    """The last path component of the repository: ``backend``."""
    return repository(ref).rsplit("/", 1)[-1]


def digest(ref: str) -> str:
    """The ``sha256:...`` digest a reference pins, or ``""``."""
    return ref.split("@", 1)[1] if "@" in ref else ""


def digest_of_image_id(image_id: str) -> str:
    """The repository digest in a pod's ``imageID`` (``docker-pullable://repo@sha256:...``
    or ``repo@sha256:...``); ``""`` for a bare image ID or none."""
    return image_id.rsplit("@", 1)[1] if "@" in image_id else ""


def pinned(ref: str, image_digest: str) -> str:
    """``repository@digest`` when a digest is known, else ``ref`` unchanged."""
    return f"{repository(ref)}@{image_digest}" if image_digest else ref


def selects(name: str, ref: str) -> bool:
    """Whether an image name given by a person (``backend`` or the full repository) means
    the image of ``ref``."""
    return name in (repository(ref), short_name(ref))


def selected(names: Iterable[str], ref: str) -> bool:
    return any(selects(name, ref) for name in names)


def same_artifact(a: str, b: str) -> bool:
    """Byte-identical references, or references pinning the same digest."""
    return a == b or (bool(digest(a)) and digest(a) == digest(b))

