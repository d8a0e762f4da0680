"""The tasks' flags as kubectl and Helm users expect them.

No automatic short flags (Invoke's would make ``-n`` ``--no-rollback`` and ``-h`` ``--host``):
only those of `SHORT_FLAGS`. Counts are integers (``INT`` in ``--help``), and a value that is
not a number is Invoke's one-line parse error (exit 1), not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import invoke
from invoke.exceptions import ParseError
from invoke.parser import Argument

#: The only short flags, each meaning the same in every task.
SHORT_FLAGS = {"env": "e", "namespace": "n", "yes": "y", "dry-run": "d"}
#: Flags that take a whole number whatever their default.
WHOLE_NUMBERS = {"limit", "to_revision"}

#: Help of the flags of the deploy tasks.
DEPLOY_HELP = {
    "dry-run": "show the plan and the commands that would write; write nothing",
    "yes": "answer yes to confirmation (needed for confirm: true envs without a terminal)",
    "no-rollback": "on failure, leave the environment as it is instead of rolling back",
    "no-prune": "keep what an earlier promotion applied and the overlay no longer renders "
                "(default: globepay.prune, deleted after the rollout)",
    "image": "NAME=REF: use this image for the container image named NAME (repeatable)",
    "allow-bad": "promote images marked bad by an earlier rollback anyway",
    "report": "FILE: write a JSON report of the run there (schema: docs/report.md)",
    "host": "USER@HOST:PORT: run the environment's kubectl on that host over SSH (overrides "
            "its host)",
}

#: Help of the flags that win over the configuration for one run: every task that talks to
#: a cluster takes --kubeconfig, one that works on one environment --context and --namespace,
#: one that waits for a rollout --timeout.
KUBECONFIG_HELP = {
    "kubeconfig": "PATH: the kubeconfig of every kubectl call of this run (a path on the "
                  "host for an environment with one; default: globepay.kubeconfig)",
}
WHERE_HELP = {
    **KUBECONFIG_HELP,
    "context": "NAME: the environment's kube context for this run (default: its context)",
    "namespace": "NAME: the environment's namespace for this run; a deploy renders the "
                 "overlay into it (default: its namespace)",
}
#: Help of the flag of the single-environment deploy tasks that chooses their images.
OVERLAY_HELP = {
    "overlay-images": "apply the overlay's own image tags instead of the images the previous "
                      "environment runs (globepay.promote_images); the plan marks each that "
                      "differs",
}
ENV_HELP = {
    **WHERE_HELP,
    "timeout": "SECONDS: how long its workloads may take to roll out, also as a duration "
               "(90s, 5m; default: its timeout)",
}


class NumberArgument(Argument):
    """An integer or float flag whose bad value is a `ParseError`: one line naming the flag,
    the tasks' ``error: `` first."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            what = "a whole number" if self.kind is int else "a number"
            raise ParseError(f"error: --{self.names[0]} {value!r} must be {what}") from None


class FlagTask(invoke.Task):
    """An Invoke task with `SHORT_FLAGS` as its only short flags and typed counts."""

    def __init__(self, body: Callable, **kwargs: Any) -> None:
        super().__init__(body, **{**kwargs, "auto_shortflags": False})

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        if name in WHOLE_NUMBERS:
            opts["kind"] = int
        short = SHORT_FLAGS.get(opts["names"][0])
        if short and short not in taken_names:
            opts["names"].append(short)
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        return [NumberArgument(names=arg.names, kind=arg.kind, default=arg.default,
                               help=arg.help, positional=arg.positional,
                               optional=arg.optional, incrementable=arg.incrementable,
                               attr_name=arg.attr_name)
                if arg.kind in (int, float) else arg
                for arg in super().get_arguments(ignore_unknown_help)]


def task(*args: Any, **kwargs: Any) -> Any:
    """Invoke's ``@task``, making a `FlagTask`."""
    return invoke.task(*args, klass=FlagTask, **kwargs)
