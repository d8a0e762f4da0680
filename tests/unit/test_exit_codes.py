"""Every place that documents the exit codes agrees with `ExitStatus`: the README's table, the
table of docs/promotion.md, ``invoke --help deploy``, the report's documentation and schema.

A documented meaning agrees with a member's when it has every word of the meaning's first
clause (what happened; the rest, what the run left behind, is worded freely), so rewording,
Markdown and line breaks do not matter but a wrong or swapped code does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from globepay_tasks import tasks
from globepay_tasks.errors import ExitStatus
from globepay_tasks.report import load_schema

ROOT = Path(__file__).resolve().parents[2]
FILLER = {"a", "an", "the", "by", "or", "and", "of", "is"}
FAILURES = set(ExitStatus) - {ExitStatus.SUCCESS}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) - FILLER


def key_words(status: ExitStatus) -> set[str]:
    """The words of the first clause of ``status``'s meaning."""
    return words(re.split(r"[;:(]", status.meaning, maxsplit=1)[0])


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each Markdown table of ``text``: its rows (header first, rule left out) as cells."""
    tables: list[list[list[str]]] = []
    previous_was_row = False
    for line in text.splitlines():
        line = line.strip()
        is_row = line.startswith("|")
        if is_row and not re.fullmatch(r"\|[\s:|-]*", line):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]
            if not previous_was_row:
                tables.append([])
            tables[-1].append(cells)
        previous_was_row = is_row
    return tables


def code_tables(path: str) -> list[dict[int, str]]:
    """The tables of ``path`` whose first column is an exit code (headed ``code`` or
    ``exit``): code -> the cell after it."""
    found = []
    for header, *rows in markdown_tables((ROOT / path).read_text()):
        if header[0].lower() in {"code", "exit"}:
            found.append({int(re.findall(r"\d+", row[0])[0]): row[1] for row in rows})
    return found


def docstring_codes(doc: str) -> dict[int, str]:
    """``Exit codes: 0 success, 1 ..., 130 interrupted.`` in a docstring: code -> meaning."""
    text = " ".join(doc.split())
    listed = re.search(r"Exit codes: (.*?)\.(?: |$)", text)
    assert listed, f"no 'Exit codes: ...' sentence in {doc!r}"
    pairs = [item.split(" ", 1) for item in re.split(r",\s+(?=\d+ )", listed[1])]
    return {int(code): meaning for code, meaning in pairs}


def agrees(documented: dict[int, str], expected: set[ExitStatus]) -> None:
    assert sorted(documented) == sorted(expected)
    for code, meaning in documented.items():
        missing = key_words(ExitStatus(code)) - words(meaning)
        assert not missing, f"{code}: {meaning!r} does not say {ExitStatus(code).meaning!r}"


@pytest.mark.parametrize("path, expected", [("README.md", set(ExitStatus)),
                                            ("docs/promotion.md", FAILURES)])
def test_the_exit_code_table_agrees_with_exit_status(path, expected):
    tables = code_tables(path)
    assert len(tables) == 1, f"{path}: expected one exit-code table, found {len(tables)}"
    agrees(tables[0], expected)


def test_deploy_help_lists_every_exit_status_with_its_meaning():
    agrees(docstring_codes(tasks.deploy.__doc__), set(ExitStatus))


def test_rollback_help_lists_only_exit_statuses():
    assert set(docstring_codes(tasks.rollback.__doc__)) <= set(ExitStatus)


def test_the_reports_exit_code_is_documented_and_constrained_to_exit_status():
    listed = re.search(r"exit status: ([\d, or]+)", (ROOT / "docs/report.md").read_text())
    assert listed
    assert sorted(int(code) for code in re.findall(r"\d+", listed[1])) == sorted(ExitStatus)
    assert sorted(load_schema()["$defs"]["exit_code"]["enum"]) == sorted(ExitStatus)


@pytest.mark.parametrize("path", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_every_exit_column_holds_only_exit_statuses(path):
    for header, *rows in markdown_tables((ROOT / path).read_text()):
        columns = [i for i, cell in enumerate(header) if cell.lower() in {"code", "exit"}]
        for row in rows:
            for column in columns:
                for code in re.findall(r"\b\d+\b", row[column]):
                    assert int(code) in set(ExitStatus), f"{path}: {row}"


def test_the_key_words_tell_every_exit_status_apart():
    """Otherwise a swapped row could still agree."""
    for status in ExitStatus:
        for other in ExitStatus:
            if other != status:
                assert not key_words(status) <= key_words(other), (status, other)
