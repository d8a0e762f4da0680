"""Confirmation is asked after the plan of the environment it is about (invoke -> real kubectl
-> the sandbox or a real cluster), with stdin and stdout on a terminal."""

from __future__ import annotations

from conftest import on_terminal, output


def answered(project, answer: str, *args: str) -> tuple[int, str]:
    """``invoke ARGS`` on a terminal, answering ``answer`` to the first ``[y/N]`` question."""
    return on_terminal(project, *args, env={**project.environ(), "TERM": "dumb"},
                       answer=answer)


def test_prod_is_asked_after_its_plan_and_a_no_changes_nothing(project):
    with project.untouched("prod"):
        code, text = answered(project, "n", "deploy-prod", "--overlay-images")
    assert code == 1, text
    question = text.index("Change prod")
    assert text.index("prod     plan: deployment/backend: create") < question
    assert text.index("== prod: context") < question
    assert "prod: not confirmed, nothing was changed" in text[question:]


def test_deploy_all_asks_about_prod_when_its_turn_comes(project):
    code, text = answered(project, "y", "deploy-all")
    assert code == 0, text
    question = text.index("Change prod")
    assert text.index("dev      done: succeeded") < text.index("staging  done: succeeded") \
        < question
    assert text.index("prod     plan: deployment/backend: create") < question
    assert "prod     done: succeeded" in text[question:]


def test_without_a_terminal_the_refusal_comes_before_anything_is_touched(project):
    with project.untouched():
        result = project.invoke("deploy-all")
    assert result.returncode == 1, output(result)
    assert "prod requires confirmation: pass --yes (no terminal to ask on)" in result.stderr
