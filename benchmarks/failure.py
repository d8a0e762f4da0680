"""Failure reaction: a broken image in staging with a short progress deadline.

The sandbox's store listener timestamps the moment staging's Deployment is marked
ProgressDeadlineExceeded, the first template write after it (the first undo reaching the
server), and the moment every staging workload has rolled out again; the counting kubectl
wrapper timestamps the start of the first ``kubectl rollout undo`` and of the first kubectl
that puts anything back (`ACTION_COMMANDS`). With a report, the run's own steps give how soon
the first restore or rollback action followed the step that reported the failure, and the
kubectl processes it took to put staging back.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .deploy import INVOKE, count_kubectl
from .project import BenchProject

ENV = "staging"
#: The steps that report the failure, and those that put something back (`failure.fail`).
FAILED_STEPS = ("rollout failed", "verify failed")
ACTION_STEPS = ("restore", "re-create", "delete", "rollback")
#: The kubectl commands that put something back: replace, create, rollout undo, delete.
ACTION_COMMANDS = (" replace ", " create ", " rollout undo ", " delete ")


@dataclass
class FailureResult:
    workloads: int
    to_undo_process: float
    to_undo_request: float
    to_rolled_back: float
    to_exit: float
    exit_code: int
    #: from the report's steps: the failure step to the first restore or rollback action
    to_first_action: float | None = None
    #: the first action step (``restore``, ``rollback``, ...)
    first_action: str = ""
    #: staging's kubectl processes from the failure on, and the ``rollout undo`` among them
    after_failure: int = 0
    undo_calls: int = 0
    #: the first kubectl putting something back (`ACTION_COMMANDS`) started, after the failure
    to_action_process: float = 0.0
    #: staging's kubectl processes in the whole run
    env_calls: int = 0


def first_action(steps: list[dict], env: str = ENV) -> tuple[float, str] | None:
    """Seconds from ``env``'s step reporting the failure to its first restore or rollback
    action step, and that step's name (None: the report has no such pair)."""
    mine = [s for s in steps if s["env"] == env]
    failed = next((s["at"] for s in mine if s["step"] in FAILED_STEPS), None)
    if failed is None:
        return None
    action = next((s for s in mine if s["step"] in ACTION_STEPS and s["at"] >= failed
                   and s["status"] != "fail"), None)
    return None if action is None else (action["at"] - failed, action["step"])


def trial(project: BenchProject, tag: str, report: Path | None = None) -> FailureResult:
    """Release ``tag`` with staging's first workload broken; time the reaction."""
    project.set_tag(tag, broken={ENV: project.workloads[0]})
    project.clear_log()
    flags = ["--report", str(report)] if report else []
    result = subprocess.run([INVOKE, "deploy-all", "--yes", *flags], cwd=project.root,
                            env=project.environ(), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=900)
    ended = time.time()
    timeline = project.timeline
    failed = timeline.deadline_exceeded.get(ENV)
    if result.returncode != 2 or failed is None:
        raise RuntimeError(f"expected a failed, rolled back staging (exit 2), got "
                           f"{result.returncode}:\n{result.stdout}{result.stderr}")
    calls = project.kubectl_calls()
    undo = min(stamp for stamp, argv in calls if " rollout undo " in argv)
    write = min(stamp for stamp in timeline.template_writes[ENV] if stamp > failed)
    later = [(stamp, argv) for stamp, argv in calls if stamp > failed]
    action = min((stamp for stamp, argv in later if any(c in argv for c in ACTION_COMMANDS)),
                 default=float("nan"))
    project.wait_settled()
    rolled_back = project.cluster_done(ENV)
    assert rolled_back is not None
    outcome = FailureResult(len(project.workloads), undo - failed, write - failed,
                            rolled_back - failed, ended - failed, result.returncode,
                            after_failure=count_kubectl(later)[ENV],
                            undo_calls=count_kubectl([c for c in later
                                                      if " rollout undo " in c[1]])[ENV],
                            to_action_process=action - failed,
                            env_calls=count_kubectl(calls)[ENV])
    if report is not None:
        found = first_action(json.loads(report.read_text())["steps"])
        if found is not None:
            outcome.to_first_action, outcome.first_action = found
    return outcome
