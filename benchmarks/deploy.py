"""One measured promotion through dev, staging and prod: the tasks or the naive baseline."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .project import BIN, ENVS, BenchProject

INVOKE = str(BIN / "invoke")
BASELINE = Path(__file__).with_name("baseline.sh")
TOOLS = ("tasks", "baseline")


@dataclass
class Segment:
    """The time from one of the tasks' progress steps to the next step of another name (a
    run of steps of the same name is one segment), the sandbox requests of its environment's
    cluster in that time (all clusters' for the preflight) and the kubectl processes started
    for that environment (by method: ``GET``, ``PATCH``, ``GET watch``, ...)."""

    env: str
    label: str
    seconds: float
    requests: Counter = field(default_factory=Counter)
    kubectl: int = 0


@dataclass
class RunResult:
    """What one promotion cost, against the cluster's own time."""

    tool: str
    workloads: int
    rollout_seconds: float
    wall: float
    env_seconds: dict[str, float]
    hook_seconds: dict[str, float] = field(default_factory=dict)
    kubectl: Counter = field(default_factory=Counter)
    cluster_seconds: dict[str, float] = field(default_factory=dict)
    #: per environment, seconds between the tasks' progress steps (`PHASES`)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per environment, seconds the cluster runs the pre-deploy Job before the rollout
    job_seconds: float = 0.0
    #: per environment, how many objects the run pruned and how many it kept (--no-prune)
    pruned: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    #: the releases case the run measured (`releases.CASES`), if any
    case: str = ""
    #: the run's time, step by step, with the requests and kubectl processes of each
    segments: list[Segment] = field(default_factory=list)
    #: CPU seconds (user + system) of the run and every process it started
    cpu: float = 0.0
    #: sandbox requests per environment's cluster during the run
    requests: Counter = field(default_factory=Counter)

    @property
    def hooks(self) -> float:
        return sum(self.hook_seconds.values())

    @property
    def limit(self) -> float:
        """The cluster's own time: one rollout per environment (after its pre-deploy Job),
        plus the hooks."""
        return len(ENVS) * (self.job_seconds + self.rollout_seconds) + self.hooks

    @property
    def overhead(self) -> float:
        return self.wall - self.limit

    @property
    def startup(self) -> float:
        """Wall time outside the environments: start-up, preflight, summary."""
        return self.wall - sum(self.env_seconds.values())

    def env_overhead(self, env: str) -> float:
        return (self.env_seconds[env] - self.job_seconds - self.rollout_seconds
                - self.hook_seconds.get(env, 0.0))


#: Phases of an environment, each ending at the first progress step of that name after the
#: previous phase (the last ends with the environment's last step).
PHASES = {
    "plan, pre hooks, capture": "apply",
    "apply, capture after": "changes",
    "wait, verify": "post hook",
    "post hooks, record, history": None,
}


def env_spans(steps: list[dict]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Seconds per environment (from the previous one's last step, or the end of preflight,
    to its own last step) and per phase (`PHASES`), from the report's progress steps."""
    start = max((s["at"] for s in steps if s["step"] == "preflight"), default=0.0)
    spans: dict[str, float] = {}
    phases: dict[str, dict[str, float]] = {}
    for env in ENVS:
        mine = [s for s in steps if s["env"] == env and s["step"] != "preflight"]
        end = max(s["at"] for s in mine)
        spans[env], phases[env] = end - start, {}
        at = start
        for phase, until in PHASES.items():
            marks = [s["at"] for s in mine if s["step"] == until and s["at"] >= at]
            stop = marks[0] if until and marks else end
            phases[env][phase], at = stop - at, stop
        start = end
    return spans, phases


def segments(data: dict, calls: list[tuple[float, str]], requests: list) -> list[Segment]:
    """The run's time from the report's progress steps (`Segment`): ``preflight`` up to its
    last step, then from each step to the next of another name or environment, the last up
    to the end of the run (a workload's ``ready`` is part of the ``wait``; with phases, each
    step is named with the phase it belongs to). The report's times (from the run's start)
    are put on the wall clock by its first kubectl command, which the counting wrapper logged
    when it began."""
    steps = sorted(data["steps"], key=lambda s: s["at"])
    firsts = [c["at"] for c in data["commands"] if "kubectl" in c["command"].split(" ", 1)[0]]
    if not steps or not firsts or not calls:
        return []
    origin = min(stamp for stamp, _ in calls) - min(firsts)
    end = data["duration_seconds"]
    ready = max((s["at"] for s in steps if s["step"] == "preflight"), default=0.0)
    marks: list[tuple[float, str, str]] = [(0.0, "", "preflight")]
    phase: dict[str, str] = {}
    for step in steps:
        env, name = step["env"], step["step"]
        if step["at"] <= ready or env not in ENVS:
            continue
        if name == "phase":  # "pre-deploy: 3 objects (...)": the steps after it are its
            phase[env] = step["message"].split(":", 1)[0]
            continue
        label = ("wait" if name == "ready" else name) + (
            f" [{phase[env]}]" if env in phase else "")
        if marks[-1][1:] != (env, label):
            marks.append((step["at"], env, label))
    found = []
    for index, (at, env, label) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else end
        start_wall, stop_wall = origin + at, origin + stop
        methods: Counter = Counter()
        for record in requests:
            if start_wall <= record.at < stop_wall and (not env or record.cluster == env):
                methods[record.method + (" watch" if record.watch else "")] += 1
        started = sum(1 for stamp, argv in calls if start_wall <= stamp < stop_wall
                      and (not env or f"--context globepay-{env}" in argv))
        found.append(Segment(env, label, stop - at, methods, started))
    return found


def count_kubectl(calls: list[tuple[float, str]]) -> Counter:
    """kubectl processes per environment (by ``--context``); the rest as ``render``."""
    counts: Counter = Counter()
    for _, argv in calls:
        words = argv.split()
        context = words[words.index("--context") + 1] if "--context" in words else ""
        counts[context.removeprefix("globepay-") or "render"] += 1
    return counts


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tasks(project: BenchProject, report: Path, flags: Sequence[str] = ()) -> RunResult:
    """``invoke deploy-all --yes [flags]`` in the generated project."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run([INVOKE, "deploy-all", "--yes", *flags, "--report", str(report)],
                            cwd=project.root, env=project.environ(), capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=900)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"deploy-all failed ({result.returncode}):\n{result.stdout}"
                           f"{result.stderr}")
    cpu = _children_cpu() - cpu
    data = json.loads(report.read_text())
    envs = {e["env"]: e for e in data["environments"]}
    spans, phases = env_spans(data["steps"])
    return RunResult(
        "tasks", len(project.workloads), project.rollout_seconds, wall, env_seconds=spans,
        segments=segments(data, project.kubectl_calls(), project.sandbox.requests), cpu=cpu,
        hook_seconds={env: sum(h["seconds"] for h in envs[env]["hooks"]) for env in ENVS},
        phases=phases,
        pruned={env: len(envs[env].get("pruned", [])) for env in ENVS},
        kept={env: len(envs[env].get("kept", [])) for env in ENVS},
    )


def run_baseline(project: BenchProject) -> RunResult:
    """The naive script: apply -k, then rollout status per Deployment, one by one."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(["bash", str(BASELINE), str(project.root)], cwd=project.root,
                            env=project.environ(), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=900)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"baseline failed ({result.returncode}):\n{result.stdout}"
                           f"{result.stderr}")
    marks: dict[tuple[str, str], float] = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] in ENVS and words[1] in ("start", "end"):
            marks[(words[0], words[1])] = float(words[2])
    return RunResult(
        "baseline", len(project.workloads), project.rollout_seconds, wall,
        env_seconds={env: marks[(env, "end")] - marks[(env, "start")] for env in ENVS},
        cpu=_children_cpu() - cpu,
    )


def measure(project: BenchProject, tool: str, tag: str, *, flags: Sequence[str] = (),
            drop: str = "") -> RunResult:
    """Release ``tag`` to every environment with ``tool`` (the tasks: with ``flags``) and
    measure it (``drop``: the project's extra objects the release leaves out)."""
    project.set_tag(tag, drop=drop)
    project.clear_log()
    project.sandbox.clear_requests()
    if tool == "tasks":
        result = run_tasks(project, project.root / f"report-{tag}.json", flags)
    else:
        result = run_baseline(project)
    result.kubectl = count_kubectl(project.kubectl_calls())
    result.job_seconds = project.job_seconds
    result.requests = Counter(r.cluster for r in project.sandbox.requests if r.cluster)
    for env in ENVS:
        started, done = project.timeline.rollout_started.get(env), project.cluster_done(env)
        if started is not None and done is not None:
            result.cluster_seconds[env] = done - started
    project.wait_settled()
    return result
