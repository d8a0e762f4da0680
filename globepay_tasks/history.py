"""The promotion history of one environment and its known-bad images, as data and as text."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from . import audit, badimages, release
from .kubectl import Target
from .runner import Runner
from .settings import Environment


def collect(runner: Runner, target: Target, env: Environment, limit: int) -> dict[str, Any]:
    """The newest ``limit`` records of ``env`` and its known-bad marks."""
    records = audit.read_records(runner, target)[:limit]
    return {
        "env": env.name,
        "namespace": env.namespace,
        "records": [{k: v for k, v in record.items() if not k.startswith("_")}
                    for record in records],
        "bad_images": [asdict(mark) for mark in badimages.read(runner, target)],
    }


def _git(git: dict[str, Any] | None) -> str:
    if not git or not git.get("commit"):
        return "no git commit"
    return f"git {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}"


def _revisions(record: dict[str, Any]) -> str:
    before, after = record.get("revisions_before") or {}, record.get("revisions_after") or {}
    return ", ".join(f"{ref} {before.get(ref) or 'new'} -> {rev}" for ref, rev in after.items()
                     if before.get(ref) != rev)


def text_lines(data: dict[str, Any]) -> list[str]:
    lines = [f"== history of {data['env']} ({data['namespace']}), newest first"]
    if not data["records"]:
        lines.append("  (no records)")
    for record in data["records"]:
        source = f" from {record['source']}" if record.get("source") else ""
        lines.append(f"  {record['id']}  {record['started']}  {record['action']}{source}  "
                     f"by {record['actor']}  {record['outcome']}  {_git(record.get('git'))}")
        after = record.get("images_after") or {}
        images = "; ".join(f"{ref} {', '.join(found.values())}" for ref, found in after.items())
        lines.append(f"      images: {images or 'none'}")
        if _revisions(record):
            lines.append(f"      revisions: {_revisions(record)}")
        if record.get("reason"):
            lines.append(f"      reason: {record['reason']}")
        if record.get("marked_bad"):
            lines.append(f"      marked bad: {', '.join(record['marked_bad'])}")
        for label in ("restored", "pruned", "kept"):
            if record.get(label):
                lines.append(f"      {label}: {', '.join(record[label])}")
        if release.has_release(record):
            count = len(record["release"]["objects"])
            lines.append(f"      release: {count} objects (invoke rollback --env {data['env']} "
                         f"--to-release {record['id']})")
    lines.append(f"== known-bad images in {data['env']}")
    if not data["bad_images"]:
        lines.append("  (none)")
    for mark in data["bad_images"]:
        lines.append(f"  {badimages.Mark(**mark).describe()}")
    return lines
