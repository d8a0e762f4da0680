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


def tag(ref: str) -> str:
    """The tag a reference names (``1.5.0``), or ``""``."""
    last = ref.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def digest(ref: str) -> str:
    """The ``sha256:...`` digest a reference pins, or ``""``."""
    return ref.split("@", 1)[1] if "@" in ref else ""


def digest_of_image_id(image_id: str) -> str:
    """The repository digest in a pod's ``imageID`` (``docker-pullable://repo@sha256:...``
    or ``repo@sha256:...``); ``""`` for a bare image ID or none."""
    return image_id.rsplit("@", 1)[1] if "@" in image_id else ""


def pinned(ref: str, image_digest: str) -> str:
    """``repository:tag@digest`` (the tag kept when ``ref`` names one, so that people see
    which version it is; the runtime pulls the digest) when a digest is known, else ``ref``
    unchanged."""
    return f"{ref.split('@', 1)[0]}@{image_digest}" if image_digest else ref


def label(ref: str) -> str:
    """What a person is shown of a reference's version: ``1.5.0``, ``1.5.0@sha256:8c170ffdce5b``
    (tag and digest together), ``sha256:8c170ffdce5b``; the reference without either."""
    shown = "@".join(part for part in (tag(ref), digest(ref)[:19]) if part)
    return shown or ref


def selects(name: str, ref: str) -> bool:
    """Whether an image name given by a person (``backend`` or the full repository) means
    the image of ``ref``."""
    return name in (repository(ref), short_name(ref))


def selected(names: Iterable[str], ref: str) -> bool:
    return any(selects(name, ref) for name in names)


def same_artifact(a: str, b: str) -> bool:
    """Byte-identical references, or references pinning the same digest."""
    return a == b or (bool(digest(a)) and digest(a) == digest(b))


def same_version(a: str, b: str) -> bool:
    """The same artifact, or the same tag of the same repository where one of them pins no
    digest (``backend:1.5.0`` and ``backend:1.5.0@sha256:...``)."""
    if same_artifact(a, b):
        return True
    if digest(a) and digest(b):
        return False
    return bool(tag(a)) and (repository(a), tag(a)) == (repository(b), tag(b))
