"""GitHub Actions output: a Markdown job summary and ``::error::`` annotations."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .report import failure_lines, summary_rows

#: How many lines of a failed hook's output the job summary shows.
SUMMARY_TAIL_LINES = 10


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner expects (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as `escape_data`, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_annotation(message: str, title: str = "") -> str:
    """``::error title=T::MESSAGE``: shown on the run's page and in the job's annotations."""
    properties = f" title={escape_property(title)}" if title else ""
    return f"::error{properties}::{escape_data(message)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ") or "-"


def step_summary(report: Mapping[str, Any]) -> str:
    """The run as Markdown: outcome, a table per environment, failures and hook output."""
    task, outcome, code = report["task"], report["outcome"], report["exit_code"]
    lines = [f"### globepay {task}: {outcome} (exit {code})", ""]
    failures = failure_lines(report)
    if report["message"] and not failures:
        lines += [_cell(report["message"]), ""]
    rows = summary_rows(report)
    if rows:
        lines += ["| env | result | duration | images | revisions |",
                  "| --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
        lines.append("")
    if failures:
        lines += [f"- {_cell(line)}" for line in failures]
        lines.append("")
    for env in report["environments"]:
        for hook in env["hooks"]:
            if hook["ok"] or not hook["output_tail"]:
                continue
            tail = "\n".join(hook["output_tail"].splitlines()[-SUMMARY_TAIL_LINES:])
            fence = "````" if "```" in tail else "```"
            lines += [f"<details><summary>{env['env']} {hook['phase']} hook "
                      f"<code>{html.escape(hook['hook'])}</code>: "
                      f"{html.escape(hook['message'])}</summary>",
                      "", fence, tail, fence, "", "</details>", ""]
    return "\n".join(lines) + "\n"


def in_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true" or bool(environ.get("GITHUB_STEP_SUMMARY"))


def publish(report: Mapping[str, Any], environ: Mapping[str, str],
            write_line: Callable[[str], None]) -> str | None:
    """Append the job summary when ``GITHUB_STEP_SUMMARY`` is set; on failure in Actions, emit
    an ``::error::`` line through ``write_line``. A warning text if the summary could not be
    written (the run's own outcome stands), else None."""
    warning = None
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with Path(path).open("a", encoding="utf-8") as summary:
                summary.write(step_summary(report))
        except OSError as error:
            warning = f"warning: could not append to GITHUB_STEP_SUMMARY ({path}): {error}"
    if report["exit_code"] and in_actions(environ):
        title = f"globepay {report['task']} {report['outcome']} (exit {report['exit_code']})"
        write_line(error_annotation(report["message"] or report["exit_meaning"], title))
    return warning
