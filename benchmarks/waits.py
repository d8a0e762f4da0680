"""The ways to wait for W rollouts, side by side, on one environment of the sandbox.

- ``parallel``: one ``kubectl rollout status`` per workload, all at once;
- ``sequential``: one ``kubectl rollout status`` naming every workload (kubectl waits for them
  one after the other and throttles its own requests);
- ``watch``: the tasks' wait (`globepay_tasks.workloads.wait_all`): one ``kubectl get --watch``
  judged with kubectl's rollout status rules.

Each trial applies a new release to dev, then waits; it records how long after the cluster
finished the wait returned, how many kubectl processes it started and their CPU time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass

from invoke import Context

from globepay_tasks import workloads
from globepay_tasks.kubectl import Target, WorkloadRef
from globepay_tasks.runner import Runner

from .project import BenchProject, real_kubectl

STRATEGIES = ("parallel", "sequential", "watch")
ENV = "dev"


@dataclass
class WaitResult:
    strategy: str
    workloads: int
    seconds: float
    after_cluster: float
    processes: int
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _base(project: BenchProject) -> list[str]:
    return [real_kubectl(), "--kubeconfig", str(project.sandbox.kubeconfig),
            "--context", project.sandbox.context(ENV), "--namespace", f"globepay-{ENV}"]


def _rollout_status(project: BenchProject, names: list[str]) -> list[str]:
    return [*_base(project), "rollout", "status", *(f"deployment/{n}" for n in names),
            "--timeout=300s"]


def _run_strategy(project: BenchProject, strategy: str) -> int:
    """Wait with ``strategy``; the number of kubectl processes it started."""
    env = project.environ()
    if strategy == "parallel":
        processes = [subprocess.Popen(_rollout_status(project, [name]), env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for name in project.workloads]
        if any(process.wait() for process in processes):
            raise RuntimeError("a rollout status failed")
        return len(processes)
    if strategy == "sequential":
        subprocess.run(_rollout_status(project, project.workloads), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return 1
    os.environ["KUBECACHEDIR"] = str(project.cache)
    target = Target(real_kubectl(), f"globepay-{ENV}", project.sandbox.context(ENV),
                    str(project.sandbox.kubeconfig))
    refs = [WorkloadRef("Deployment", name) for name in project.workloads]
    outcomes = workloads.wait_all(Runner(Context()), target, refs, 300)
    if not all(outcome.ok for outcome in outcomes):
        raise RuntimeError(f"the watch wait failed: {outcomes}")
    return 1


def trial(project: BenchProject, strategy: str, tag: str) -> WaitResult:
    """Apply release ``tag`` to dev, then wait with ``strategy``."""
    project.set_tag(tag)
    project.clear_log()
    subprocess.run([*_base(project), "apply", "-k", str(project.overlay(ENV))],
                   env=project.environ(), check=True, capture_output=True)
    cpu = _children_cpu()
    started = time.perf_counter()
    processes = _run_strategy(project, strategy)
    seconds = time.perf_counter() - started
    returned = time.time()
    done = project.cluster_done(ENV)
    if done is None:
        raise RuntimeError(f"{strategy} returned before the cluster finished")
    return WaitResult(strategy, len(project.workloads), seconds, returned - done, processes,
                      _children_cpu() - cpu)
