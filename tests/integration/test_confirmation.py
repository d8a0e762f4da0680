"""Confirmation is asked after the plan of the environment it is about (invoke -> real kubectl
-> the sandbox or a real cluster), with stdin and stdout on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import time

from conftest import INVOKE, output


def answered(project, answer: str, *args: str) -> tuple[int, str]:
    """``invoke ARGS`` on a terminal, answering ``answer`` to the first ``[y/N]`` question;
    its exit code and everything it wrote (up to the question, then the rest)."""
    project.write_config()
    leader, follower = pty.openpty()
    env = {**project.environ(), "TERM": "dumb"}
    process = subprocess.Popen([INVOKE, "-f", str(project.config_file), *args], cwd=project.root,
                               env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    text, asked, deadline = "", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        text += chunk.decode("utf-8", "replace")
        if not asked and "[y/N]" in text:
            text += "<answer>"
            os.write(leader, f"{answer}\n".encode())
            asked = True
    os.close(leader)
    return process.wait(timeout=60), text


def test_prod_is_asked_after_its_plan_and_a_no_changes_nothing(project):
    with project.untouched("prod"):
        code, text = answered(project, "n", "deploy-prod")
    assert code == 1, text
    question = text.index("Change prod")
    assert text.index("prod     plan: deployment/backend: new") < question
    assert text.index("== prod: context") < question
    assert "prod: not confirmed, nothing was changed" in text[question:]


def test_deploy_all_asks_about_prod_when_its_turn_comes(project):
    code, text = answered(project, "y", "deploy-all")
    assert code == 0, text
    question = text.index("Change prod")
    assert text.index("dev      done: succeeded") < text.index("staging  done: succeeded") \
        < question
    assert text.index("prod     plan: deployment/backend: new") < question
    assert "prod     done: succeeded" in text[question:]


def test_without_a_terminal_the_refusal_comes_before_anything_is_touched(project):
    with project.untouched():
        result = project.invoke("deploy-all")
    assert result.returncode == 1, output(result)
    assert "prod requires confirmation: pass --yes (no terminal to ask on)" in result.stderr
