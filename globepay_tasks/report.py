"""The run's JSON report (schema: report.schema.json, docs/report.md) and its summary table."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from . import images
from .errors import ConfigError, ExitStatus
from .progress import Progress, utc_timestamp
from .promotion import EnvResult

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")


def run_outcome(exit_code: int, dry_run: bool) -> str:
    """``succeeded``, ``dry run``, ``interrupted`` or ``failed``."""
    if exit_code == ExitStatus.SUCCESS:
        return "dry run" if dry_run else "succeeded"
    return "interrupted" if exit_code == ExitStatus.INTERRUPTED else "failed"


def _version() -> str:
    try:
        return metadata.version("globepay-tasks")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_report(task: str, argv: list[str], progress: Progress, results: list[EnvResult],
                 exit_code: int, message: str, *, dry_run: bool = False) -> dict[str, Any]:
    """The JSON report of one run, every string redacted."""
    report = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "globepay-tasks", "version": _version()},
        "task": task,
        "argv": list(argv),
        "dry_run": dry_run,
        "started_at": progress.started_at,
        "finished_at": utc_timestamp(),
        "duration_seconds": round(progress.elapsed(), 3),
        "outcome": run_outcome(exit_code, dry_run),
        "exit_code": exit_code,
        "exit_meaning": ExitStatus.describe(exit_code),
        "message": message,
        "environments": [_env(result) for result in results],
        "steps": [
            {"at": round(step.at, 3), "env": step.env, "step": step.name,
             "message": step.message, "status": step.status}
            for step in list(progress.steps)
        ],
        "commands": [asdict(record) for record in list(progress.commands)],
    }
    return progress.redact.deep(report)


def _env(result: EnvResult) -> dict[str, Any]:
    return {
        "env": result.env,
        "action": result.action,
        "source": result.source or None,
        "record": result.id or None,
        "namespace": result.namespace,
        "context": result.context or None,
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "seconds": round(result.seconds, 3),
        "reason": result.reason,
        "plan": [
            {"workload": str(item.ref), "action": item.action, "phase": item.phase,
             "images_before": dict(item.images_before), "images_after": dict(item.images_after)}
            for item in result.plan
        ],
        "objects": [{"kind": item.kind, "name": item.name, "action": item.action,
                     "phase": item.phase, "detail": item.detail} for item in result.others],
        "changed": [str(c.ref) for c in result.changes if c.changed],
        "unchanged": [str(c.ref) for c in result.changes if not c.changed],
        "rolled_back": list(result.rolled_back),
        "restored": list(result.restored),
        "pruned": list(result.pruned),
        "kept": list(result.kept),
        "revisions": {ref: {"before": b, "after": a} for ref, (b, a) in result.revisions.items()},
        "images": {ref: dict(images) for ref, images in result.images.items()},
        "hooks": [{**asdict(hook), "seconds": round(hook.seconds, 3)} for hook in result.hooks],
    }


# -- the summary table, made from the report ---------------------------------------------------


def image_label(image: str) -> str:
    """``backend:1.4.1`` for ``registry.globepay.dev/globepay/backend:1.4.1``;
    ``backend:1.5.0@sha256:8c170ffdce5b`` for one pinning a digest."""
    tag, digest = images.tag(image), images.digest(image)[:19]
    return images.short_name(image) + (f":{tag}" if tag else "") + (f"@{digest}" if digest
                                                                       else "")


def _short(workload: str) -> str:
    return workload.split("/", 1)[-1]


def images_cell(env: Mapping[str, Any]) -> str:
    labels = []
    for found in env["images"].values():
        labels += [image_label(image) for image in found.values()]
    return ", ".join(dict.fromkeys(labels)) or "-"


def revisions_cell(env: Mapping[str, Any]) -> str:
    cells = []
    for workload, rev in env["revisions"].items():
        before, after = rev["before"] or "new", rev["after"] or "-"
        cells.append(f"{_short(workload)} {after}" if before == after
                     else f"{_short(workload)} {before}->{after}")
    return ", ".join(cells) or "-"


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(env, result, duration, images, revisions) for each environment of the run."""
    return [(env["env"], env["outcome"], f"{env['seconds']:.1f}s", images_cell(env),
             revisions_cell(env)) for env in report["environments"]]


def failure_lines(report: Mapping[str, Any]) -> list[str]:
    """For each environment that failed: ``ENV reason: ...``, ``ENV rolled back: ...`` and
    what else was put back; for each that pruned or kept objects: ``ENV pruned: ...``."""
    lines = []
    for env in report["environments"]:
        name, reason = env["env"], env["reason"]
        if reason:
            lines.append(f"{name} reason: {reason.removeprefix(f'{name}: ')}")
        if reason and env["rolled_back"]:
            lines.append(f"{name} rolled back: {', '.join(env['rolled_back'])}")
        lines += [f"{name} {line}" for line in env["restored"]]
        for label in ("pruned", "kept"):
            if env[label]:
                lines.append(f"{name} {label}: {', '.join(env[label])}")
    return lines


def next_line(report: Mapping[str, Any]) -> str:
    """What the operator does after a run that failed with exit 2, 3 or 4, in one ``next:``
    line naming the environment that failed ("" for any other run: exits 1 and 5 say it in
    their error line)."""
    code = report["exit_code"]
    failed = [env for env in report["environments"] if env["exit_code"] == code]
    if code not in (ExitStatus.ROLLOUT_FAILED, ExitStatus.HOOK_FAILED,
                    ExitStatus.ROLLBACK_FAILED) or not failed:
        return ""
    name = failed[0]["env"].split("/")[0]  # prod, for the cluster prod/eu
    if code == ExitStatus.ROLLBACK_FAILED or failed[0]["outcome"] == "failed, not rolled back":
        return (f"next: invoke status --env {name} shows what {name} runs now; invoke history "
                f"--env {name} names the release to go back to (invoke rollback --env {name} "
                "--to-release ID)")
    if code == ExitStatus.HOOK_FAILED:
        return (f"next: fix what the failed hook reports (above), check with invoke status "
                f"--env {name}, then run it again")
    return (f"next: invoke history --env {name} shows the failed run ({name} was rolled "
            "back); fix its cause, then run it again")


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A fixed-width table (ENV RESULT TIME IMAGES REVISIONS)."""
    body = summary_rows(report)
    if not body:
        return []
    rows = [("ENV", "RESULT", "TIME", "IMAGES", "REVISIONS"), *body]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
            for row in rows]


def print_summary(progress: Progress, report: Mapping[str, Any]) -> None:
    lines = summary_lines(report)
    if not lines:
        return
    progress.header("summary")
    for line in lines:
        progress.write(line)
    for line in failure_lines(report):
        progress.write(line, "fail")
    if next_line(report):
        progress.write(next_line(report))


# -- the report file ---------------------------------------------------------------------------


def check_report_path(path: str) -> None:
    """Refuse, before anything runs, a report path that cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"--report {path}: is a directory; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--report {path}: cannot create {target.parent}: "
                          f"{error.strerror}") from None
    if not os.access(target.parent, os.W_OK):
        raise ConfigError(f"--report {path}: {target.parent} is not writable")


def write_report(path: str, report: Mapping[str, Any]) -> None:
    """Write atomically (a reader never sees half a report; none is left on failure)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    try:
        temporary.write_text(json.dumps(report, indent=2) + "\n")
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def load_schema() -> dict[str, Any]:
    """The report's JSON Schema, shipped with the package."""
    return json.loads(SCHEMA_FILE.read_text())
