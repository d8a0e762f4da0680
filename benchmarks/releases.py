"""Releases: the kubectl processes a deploy-all takes per environment when the release
leaves out objects an earlier one applied (pruned, or kept with ``--no-prune``), and how
soon a failed promotion that also changed ConfigMaps starts putting staging back.

The project has a Service and a ConfigMap per workload (`BenchProject` ``extras``); each
release changes every image and every ConfigMap. A case that leaves objects out is measured
after a release that rendered them all again (not measured).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import deploy, failure
from .deploy import INVOKE, RunResult
from .failure import FailureResult
from .project import ENVS, BenchProject, workload_names


@dataclass(frozen=True)
class Case:
    name: str
    #: which extra objects the release leaves out (`project.DROPS`)
    drop: str
    flags: tuple[str, ...] = ()


CASES = (
    Case("nothing to prune", ""),
    Case("prune half the extras", "some"),
    Case("prune every extra (a kind no longer rendered)", "all"),
    Case("--no-prune, every extra left out", "all", ("--no-prune",)),
)


def supports(project: BenchProject, flag: str) -> bool:
    """Whether the tasks in use know ``flag`` (the code before releases has no --no-prune)."""
    shown = subprocess.run([INVOKE, "deploy-all", "--help"], cwd=project.root,
                           env=project.environ(), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
    return flag in shown.stdout


def cases(project: BenchProject, rep: int,
          log: Callable[[str], None]) -> list[RunResult]:
    """Each case once (as the tasks in use support it), in `CASES` order."""
    flags = {flag for case in CASES for flag in case.flags}
    unknown = {flag for flag in flags if not supports(project, flag)}
    results = []
    for index, case in enumerate(CASES):
        if unknown.intersection(case.flags):
            log(f"releases W={len(project.workloads)}: {case.name}: not supported, skipped")
            continue
        if case.drop:
            deploy.measure(project, "tasks", f"5.{rep}.{index}.0")
        result = deploy.measure(project, "tasks", f"5.{rep}.{index}.1", flags=case.flags,
                                drop=case.drop)
        result.case = case.name
        results.append(result)
        log(f"releases W={len(project.workloads)} {case.name}: "
            f"{max(result.kubectl[e] for e in ENVS)} kubectl per env, "
            f"pruned {max(result.pruned.values(), default=0)}, "
            f"kept {max(result.kept.values(), default=0)}")
    deploy.measure(project, "tasks", f"5.{rep}.9")  # every extra rendered again
    return results


def restore(project: BenchProject, rep: int) -> FailureResult:
    """A failed staging rollout in a release that also changed every ConfigMap (the
    project made with `restore_project`)."""
    return failure.trial(project, f"6.{rep}.0", project.root / f"report-6.{rep}.0.json")


def cases_project(root: Path, workloads: int, rollout_seconds: float) -> BenchProject:
    return BenchProject(root, workloads, rollout_seconds, extras=True)


def restore_project(root: Path, workloads: int, rollout_seconds: float) -> BenchProject:
    """Staging keeps the broken image its overlay sets, as in `failure`."""
    return BenchProject(root, workloads, rollout_seconds, broken_deadline=2, extras=True,
                        keep={failure.ENV: [workload_names(workloads)[0]]})
