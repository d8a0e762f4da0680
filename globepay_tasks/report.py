"""The run's summary table and its machine-readable JSON report."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .progress import Progress
from .promotion import EnvResult

SCHEMA_VERSION = 1


def summary_lines(results: list[EnvResult]) -> list[str]:
    """A fixed-width table: env, result, duration, revisions, reason."""
    if not results:
        return []
    rows = [("ENV", "RESULT", "TIME", "REVISIONS", "REASON")]
    for result in results:
        revisions = ", ".join(
            f"{ref.split('/', 1)[-1]} {before or '-'}->{after or '-'}"
            for ref, (before, after) in result.revisions.items()
        )
        rows.append((result.env, result.outcome, f"{result.seconds:.1f}s", revisions or "-",
                     result.reason or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row))
            .rstrip() for row in rows]


def print_summary(progress: Progress, results: list[EnvResult]) -> None:
    lines = summary_lines(results)
    if not lines:
        return
    progress.header("summary")
    for line in lines:
        progress.write(line)


def build_report(task: str, argv: list[str], progress: Progress, results: list[EnvResult],
                 exit_code: int, message: str) -> dict[str, Any]:
    """The JSON report (schema in docs/report.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "argv": argv,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_seconds": round(progress.elapsed(), 3),
        "exit_code": exit_code,
        "outcome": "succeeded" if exit_code == 0 else "failed",
        "message": message,
        "environments": [_env(result) for result in results],
        "steps": [
            {"at": round(step.at, 3), "env": step.env, "step": step.name,
             "message": step.message, "status": step.status}
            for step in progress.steps
        ],
    }


def _env(result: EnvResult) -> dict[str, Any]:
    return {
        "env": result.env,
        "action": result.action,
        "outcome": result.outcome,
        "seconds": round(result.seconds, 3),
        "reason": result.reason,
        "exit_code": result.exit_code,
        "changed": [str(c.ref) for c in result.changes if c.changed],
        "unchanged": [str(c.ref) for c in result.changes if not c.changed],
        "rolled_back": result.rolled_back,
        "revisions": {ref: {"before": b, "after": a} for ref, (b, a) in result.revisions.items()},
        "images": result.images,
        "hooks": [asdict(hook) for hook in result.hooks],
    }


def write_report(path: str, report: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(temporary, target)
