"""``invoke unmark``: an image marked bad in an environment made promotable again, with a
history record naming who did it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import audit, badimages, workloads
from ..errors import ClusterError, ConfigError
from ..settings import Environment
from ..validation import check_image_reference
from .result import EnvResult

if TYPE_CHECKING:
    from . import Promoter


def unmark(p: Promoter, env: Environment, image: str) -> None:
    """Remove the marks matching ``image`` (its reference, or the digest it pins) from each
    cluster of ``env`` that has one, each with its record; refused (nothing written) when no
    cluster has one."""
    image = check_image_reference(image)
    found = []
    for part in env.clusters():
        marks = badimages.read(p.runner, p.target(part))
        found.append((part, marks, [mark for mark in marks if mark.matches(image)]))
    if not any(gone for _, _, gone in found):
        marked = sorted({mark.image for _, marks, _ in found for mark in marks})
        raise ConfigError(f"{env.name}: {image} is not marked bad (marked: "
                          f"{', '.join(marked) or 'none'})")
    for part, marks, gone in found:
        if gone:
            _write(p, part, badimages.merged(marks, [], [image]), gone)


def _write(p: Promoter, env: Environment, kept: list[badimages.Mark],
           gone: list[badimages.Mark]) -> None:
    """The marks ``kept`` and the record of removing ``gone``, in one ``kubectl apply``."""
    assert p.audit is not None, "unmark records what it does"
    target = p.target(env)
    reason = "; ".join(f"unmarked {mark.describe()}" for mark in gone)
    result = EnvResult(env.name, "unmark", env.namespace, env.context or "",
                       id=audit.new_id(), outcome="succeeded", reason=reason)
    entry = p.audit.note(env, target, result)
    written = workloads.apply_objects(
        p.runner, target, [badimages.manifest(env.namespace, kept), *entry.objects])
    if not written.ok:
        raise ClusterError(f"{env.name}: removing the mark failed: {written.error_line()}")
    p.progress.step(env.name, "unmark", reason, "ok")
    for step, text, status in entry.said:
        p.progress.step(env.name, step, text, status)
    entry.prune()
