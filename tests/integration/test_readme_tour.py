"""The README's tour, run as written against the sandbox: every command of its ``bash`` blocks,
each exit code it states, and every line it quotes from their output (read from README.md, so
that the tour and the tool cannot drift apart)."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field

import pytest
from conftest import REPO, output

TOUR = "## A 5-minute tour on the sandbox"
#: The tour's configuration file: the test's own stands in for it.
CONFIG = "invoke -f .sandbox/invoke.yaml "
#: What the sandbox fixture does instead (setting up the venv, starting and stopping it).
SET_UP = ("make install", "invoke sandbox.up", "invoke sandbox.down")
ELAPSED = re.compile(r"\[\s*\d+(?:\.\d+)?s\]")
SECONDS = re.compile(r"\b\d+\.\d+s\b")


@dataclass
class Step:
    """One command of the tour, the exit code it states (``echo "exit code $?"  # N: ...``)
    and the lines the README quotes of its output."""

    command: str
    exit_code: int = 0
    quoted: list[str] = field(default_factory=list)


def tour_steps(readme: str) -> list[Step]:
    """The tour section's commands, in order, with what it says of each."""
    section = readme.split(TOUR, 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for language, body in re.findall(r"^```(\w*)\n(.*?)^```", section, re.M | re.S):
        if language != "bash":
            assert steps, "the tour quotes output before its first command"
            steps[-1].quoted += [line for line in body.splitlines() if line.strip() != "..."]
            continue
        for line in body.replace("\\\n", " ").splitlines():
            command, _, comment = line.partition("#")
            command = " ".join(command.split())
            if command.startswith("echo") and "$?" in command:
                steps[-1].exit_code = int(comment.split(":", 1)[0])
            elif command and not command.startswith(SET_UP):
                steps.append(Step(command))
    return steps


def normalized(line: str) -> str:
    """A line without its timings and with single spaces (table columns widen with them)."""
    return " ".join(SECONDS.sub("T", ELAPSED.sub("[T]", line)).split())


def pattern(quoted: str) -> re.Pattern[str]:
    """A quoted line as a pattern: ``…`` stands for what the README leaves out."""
    return re.compile(".*?".join(re.escape(part) for part in normalized(quoted).split("…")))


def missing(quoted: list[str], text: str) -> list[str]:
    """The quoted lines not found in ``text``, in their order."""
    lines, position, absent = [normalized(line) for line in text.splitlines()], 0, []
    for line in quoted:
        wanted = pattern(line)
        found = next((i for i in range(position, len(lines)) if wanted.fullmatch(lines[i])),
                     None)
        if found is None:
            absent.append(line)
        else:
            position = found + 1
    return absent


def run(project, command: str) -> subprocess.CompletedProcess:
    if command.startswith(CONFIG):
        return project.invoke(*shlex.split(command[len(CONFIG):]))
    assert command == "invoke --list", f"a tour command this test cannot run: {command}"
    return project.invoke("--list")


@pytest.mark.sandbox_only("the tour's digests are the sandbox's")
def test_the_readme_tour_runs_as_written(project):
    for env in project.settings["environments"].values():
        env.pop("timeout")  # the tour runs with the project's own settings
    steps = tour_steps((REPO / "README.md").read_text())
    assert len(steps) >= 5 and any(step.exit_code for step in steps)
    for step in steps:
        result = run(project, step.command)
        assert result.returncode == step.exit_code, f"{step.command}\n{output(result)}"
        absent = missing(step.quoted, output(result))
        assert not absent, f"{step.command}: not in its output:\n" + "\n".join(absent) + (
            f"\n--- output:\n{output(result)}")
        words = shlex.split(step.command)
        if "rollback" in words:  # the image rolled back to is never marked bad
            now = project.image(words[words.index("--env") + 1], "backend").split("@")[0]
            assert not re.search(rf"marked bad: {re.escape(now)}[@ ]", result.stdout), (
                result.stdout)


def test_quoted_lines_are_matched_in_order_without_their_timings():
    text = "[  12.3s] dev  plan: a\n[   0.1s] dev  plan: b, 2.5s\n"
    assert missing(["[   1.0s] dev      plan: a", "[ 9.9s] dev plan: b, 0.1s"], text) == []
    assert missing(["[ 0.1s] dev plan: b, 2.5s", "[ 0.1s] dev plan: a"], text) == [
        "[ 0.1s] dev plan: a"]
    assert missing(["… plan: …, 2.5s"], text) == []
    steps = tour_steps(f"{TOUR}\n```bash\ninvoke sandbox.up\n{CONFIG}deploy-dev \\\n"
                       f"    --image x\necho \"exit code $?\"  # 2: failed\n```\n\n```\nline\n"
                       "...\n```\n## Next\n```bash\nnot a tour command\n```\n")
    assert steps == [Step(f"{CONFIG}deploy-dev --image x", 2, ["line"])]
