"""Failure reaction: a broken image in staging with a short progress deadline.

The sandbox's store listener timestamps the moment staging's Deployment is marked
ProgressDeadlineExceeded, the first template write after it (the first undo reaching the
server), and the moment every staging workload has rolled out again; the counting kubectl
wrapper timestamps the start of the first ``kubectl rollout undo``.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from .deploy import INVOKE
from .project import BenchProject

ENV = "staging"


@dataclass
class FailureResult:
    workloads: int
    to_undo_process: float
    to_undo_request: float
    to_rolled_back: float
    to_exit: float
    exit_code: int


def trial(project: BenchProject, tag: str) -> FailureResult:
    """Release ``tag`` with staging's first workload broken; time the reaction."""
    project.set_tag(tag, broken={ENV: project.workloads[0]})
    project.clear_log()
    result = subprocess.run([INVOKE, "deploy-all", "--yes"], cwd=project.root,
                            env=project.environ(), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=900)
    ended = time.time()
    timeline = project.timeline
    failed = timeline.deadline_exceeded.get(ENV)
    if result.returncode != 2 or failed is None:
        raise RuntimeError(f"expected a failed, rolled back staging (exit 2), got "
                           f"{result.returncode}:\n{result.stdout}{result.stderr}")
    undo = min(stamp for stamp, argv in project.kubectl_calls() if " rollout undo " in argv)
    write = min(stamp for stamp in timeline.template_writes[ENV] if stamp > failed)
    project.wait_settled()
    rolled_back = project.cluster_done(ENV)
    assert rolled_back is not None
    return FailureResult(len(project.workloads), undo - failed, write - failed,
                         rolled_back - failed, ended - failed, result.returncode)
