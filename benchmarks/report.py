"""The benchmark's results as markdown tables (medians), with the targets checked."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .deploy import PHASES, RunResult
from .failure import FailureResult
from .project import ENVS, real_kubectl
from .startup import StartupResult
from .waits import WaitResult

#: Per-environment and start-up overhead the tasks may add to the cluster's own time.
ENV_BUDGET = 0.6
STARTUP_BUDGET = 0.5
#: Read, lock, apply, watch, read after, record; and the preflight's server-side dry run.
MAX_KUBECTL_PER_ENV = 7
#: With a pre-deploy migration Job replaced at each release: its phase's apply and Job
#: watch, and the one ``kubectl delete`` that replaces it.
MAX_KUBECTL_PER_ENV_MIGRATION = MAX_KUBECTL_PER_ENV + 3
ROLLBACK_REACTION = 1.0
LIST_RATIO = 1.3
#: The application's overlays (issue 19): deploy-all within these times the limit, up to
#: and above W = 50; the overhead per environment at the largest W at most twice that at the
#: smallest.
APP_RATIO, APP_RATIO_LARGE, APP_LARGE_W = 1.15, 1.25, 50
APP_GROWTH = 2.0


@dataclass
class Results:
    command: str
    rollout_seconds: float
    workloads: list[int]
    repetitions: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    minutes: float = 0.0
    deploys: list[RunResult] = field(default_factory=list)
    waits: list[WaitResult] = field(default_factory=list)
    failures: list[FailureResult] = field(default_factory=list)
    #: deploy-all runs of an overlay with a pre-deploy migration Job
    migrations: list[RunResult] = field(default_factory=list)
    #: deploy-all runs of the application's overlays (`BenchProject` ``app``), and the baseline
    apps: list[RunResult] = field(default_factory=list)
    #: deploy-all runs of the releases cases (`releases.CASES`), and failed ones to restore
    releases: list[RunResult] = field(default_factory=list)
    restores: list[FailureResult] = field(default_factory=list)
    startup: StartupResult | None = None
    latency: str = ""


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else float("nan")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _kubectl_version() -> str:
    done = subprocess.run([real_kubectl(), "version", "--client"], capture_output=True,
                          text=True)
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _runs(results: Results | list[RunResult], tool: str, w: int) -> list[RunResult]:
    runs = results.deploys if isinstance(results, Results) else results
    return [r for r in runs if r.tool == tool and r.workloads == w]


def _of(runs: list[RunResult], value: Callable[[RunResult], float]) -> float:
    return median(value(r) for r in runs)


def _per_env(runs: list[RunResult], value: Callable[[RunResult, str], float],
             fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(_of(runs, lambda r, e=env: value(r, e))) for env in ENVS)


def deploy_section(results: Results, app: bool = False) -> list[str]:
    rows = []
    items = results.apps if app else results.deploys
    for w in results.workloads:
        for tool in ("tasks", "baseline"):
            runs = _runs(items, tool, w)
            if not runs:
                continue
            rows.append([
                str(w), tool, f"{_of(runs, lambda r: r.wall):.2f}",
                f"{_of(runs, lambda r: r.limit):.2f}", f"{_of(runs, lambda r: r.overhead):.2f}",
                f"{_of(runs, lambda r: r.wall / r.limit):.3f}",
                f"{_of(runs, lambda r: r.startup):.2f}",
                _per_env(runs, RunResult.env_overhead),
                _per_env(runs, lambda r, e: r.kubectl.get(e, 0)),
                _per_env(runs, lambda r, e: r.cluster_seconds.get(e, float("nan"))),
                _per_env(runs, lambda r, e: r.requests.get(e, 0), "{:.0f}"),
                f"{_of(runs, lambda r: r.cpu):.1f}",
            ])
    header = ["W", "tool", "wall s", "limit s", "overhead s", "wall / limit", "start-up s",
              "overhead per env s (dev / staging / prod)", "kubectl per env",
              "cluster's own time per env s", "requests per env", "CPU s"]
    intro = [
        "### deploy-all of an application's overlays against the cluster's own time",
        "",
        "Each workload has a ConfigMap (carrying the release's tag, so every release changes "
        "it), a Secret and a Service beside its Deployment; the overlay also has a pre-deploy "
        "migration Job on the first workload's image (replaced at every release) with a "
        "generated ConfigMap, which the sandbox runs for "
        f"{_of(items, lambda r: r.job_seconds):g} s. The tasks run with their defaults: the "
        "preflight's server-side dry run and the prune on. The baseline script deletes the "
        "Job, applies it with its ConfigMap (`kubectl apply -k -l`), waits for it, then "
        "applies the rest and waits for each Deployment; it checks nothing first and prunes "
        "nothing. The limit is 3 x (the Job's time + L) plus the hooks.",
        "",
    ] if app else ["### deploy-all against the cluster's own time", ""]
    return [
        *intro,
        f"Medians of {results.repetitions} runs per row. The limit is {len(ENVS)} x L (with a "
        "pre-deploy Job: plus its time) plus the measured hook time (one no-op `true` hook "
        "before and after each environment). "
        "An environment's time runs from the end of the previous one (or of the preflight) "
        "to its last step (its history record); start-up is the rest of the wall time "
        "(Invoke start-up, preflight rendering, summary); the overhead per environment is "
        "its time minus L minus its hooks. For the baseline script, its own timestamps. "
        "The cluster's own time is what the sandbox took per environment, from the first "
        "template change the apply made to the last workload available: it includes the "
        "apply's own requests, and it grows when the machine is busy. Requests: what the "
        "sandbox served each environment's cluster during the run; CPU: user + system "
        "seconds of the run and every process it started (kubectl, kustomize, hooks).",
        "",
        *_table(header, rows),
        "",
    ]


def _env_mean(run: RunResult, phase: str) -> float:
    return statistics.fmean(run.phases.get(env, {}).get(phase, 0.0) for env in ENVS)


def phases_section(results: Results) -> list[str]:
    rows = []
    for w in results.workloads:
        runs = _runs(results.deploys, "tasks", w)
        if not runs:
            continue
        row = [str(w)]
        for phase in PHASES:
            row.append(f"{_of(runs, lambda r, p=phase: _env_mean(r, p)):.3f}")
        row.append(f"{_of(runs, lambda r: r.hooks / len(ENVS)):.3f}")
        rows.append(row)
    return [
        "#### Where the tasks' time goes, per environment",
        "",
        "Seconds between the tasks' own progress steps (from `--report`), averaged over the "
        "three environments, medians over the runs. The rollout starts with the apply, so "
        "L is spread over the apply and the wait; the hooks are the no-op `true` hooks.",
        "",
        *_table(["W", *PHASES, "hooks"], rows),
        "",
    ]


def _step_label(label: str) -> str:
    return "images from the env before" if label.startswith("images from ") else label


def step_figures(run: RunResult) -> dict[str, tuple[float, Counter, float]]:
    """label -> (seconds, requests by method, kubectl processes): the preflight's whole,
    each environment step's mean over the three environments."""
    found: dict[str, tuple[float, Counter, float]] = {}
    for segment in run.segments:
        share = 1.0 if not segment.env else 1.0 / len(ENVS)
        label = _step_label(segment.label)
        seconds, methods, kubectl = found.get(label, (0.0, Counter(), 0.0))
        scaled = Counter({m: n * share for m, n in segment.requests.items()})
        found[label] = (seconds + segment.seconds * share, methods + scaled,
                        kubectl + segment.kubectl * share)
    return found


def steps_section(results: Results) -> list[str]:
    """Where the time goes, step by step, at the smallest and the largest W of the
    application's overlays."""
    ws = sorted({r.workloads for r in results.apps if r.tool == "tasks"})
    if not ws:
        return []
    shown = [ws[0], ws[-1]] if len(ws) > 1 else ws
    figures = {w: [step_figures(r) for r in _runs(results.apps, "tasks", w)] for w in shown}
    labels = list(dict.fromkeys(label for runs in (figures[ws[-1]], *figures.values())
                                for run in runs for label in run))

    def med(w: int, label: str, pick: Callable[[tuple[float, Counter, float]], float]) -> float:
        return median(pick(run[label]) if label in run else 0.0 for run in figures[w])

    rows = []
    for label in labels:
        row = [label]
        for w in shown:
            row += [f"{med(w, label, lambda f: f[0]):.3f}",
                    f"{med(w, label, lambda f: sum(f[1].values())):.0f}",
                    f"{med(w, label, lambda f: f[2]):.1f}"]
        methods: Counter = Counter()
        for method in {m for run in figures[ws[-1]] for m in run.get(label, (0, {}, 0))[1]}:
            methods[method] = med(ws[-1], label, lambda f, m=method: f[1].get(m, 0.0))
        row.append(", ".join(f"{m} {n:.0f}" for m, n in methods.most_common() if n >= 0.5)
                   or "-")
        rows.append(row)
    header = ["step"]
    for w in shown:
        header += [f"s, W={w}", f"requests, W={w}", f"kubectl, W={w}"]
    header.append(f"requests by method, W={ws[-1]}")
    return [
        f"#### Where the time goes per step, W = {' and '.join(map(str, shown))}",
        "",
        "The application's overlays, the tasks' own progress steps (from `--report`): each row "
        "runs from a step to the next one of another name (a step's lines in a row count "
        "once, a workload's `ready` is part of the `wait`; with phases, a step is named "
        "with its phase). The preflight is the whole run's (the three environments at once); the "
        "other rows are per environment, averaged over the three. Requests: what the "
        "sandbox served the environment's cluster in that time (the preflight: all three), "
        "from its request log; kubectl: processes started for it. Medians over the runs. "
        "The rollout starts with the apply of the Deployments, so L is spread over that "
        "apply and the wait after it; the Job's run time over its apply and its wait.",
        "",
        *_table(header, rows),
        "",
    ]


def waits_section(results: Results) -> list[str]:
    rows = []
    for w in results.workloads:
        for strategy in ("parallel", "sequential", "watch"):
            items = [r for r in results.waits if r.workloads == w and r.strategy == strategy]
            if items:
                rows.append([str(w), strategy, f"{median(r.after_cluster for r in items):.2f}",
                             f"{median(r.seconds for r in items):.2f}",
                             str(items[0].processes), f"{median(r.cpu for r in items):.2f}"])
    header = ["W", "strategy", "returned after the cluster finished s", "wait s",
              "kubectl processes", "kubectl CPU s"]
    return [
        "### Waiting for W rollouts: the options side by side",
        "",
        "One environment; each trial applies a new release, then waits. `parallel`: one "
        "`kubectl rollout status` per workload at once (the previous design); `sequential`: "
        "one `kubectl rollout status` naming every workload; `watch`: the tasks' wait, one "
        "`kubectl get --watch` per kind judged with kubectl's rollout status rules.",
        "",
        *_table(header, rows),
        "",
    ]


def failure_section(results: Results) -> list[str]:
    rows = []
    for w in sorted({r.workloads for r in results.failures}):
        items = [r for r in results.failures if r.workloads == w]
        rows.append([str(w), f"{median(r.to_undo_process for r in items):.2f}",
                     f"{median(r.to_undo_request for r in items):.2f}",
                     f"{median(r.to_rolled_back for r in items):.2f}",
                     f"{median(r.to_exit for r in items):.2f}", str(len(items))])
    header = ["W", "first `rollout undo` started s", "first undo request s",
              "staging rolled back s", "deploy-all exited s", "runs"]
    return [
        "### Failure reaction",
        "",
        "Staging's first workload gets an image that never starts and a 2 s progress deadline; "
        "seconds after the sandbox marked it ProgressDeadlineExceeded (medians).",
        "",
        *_table(header, rows),
        "",
    ]


def startup_section(result: StartupResult) -> list[str]:
    heavy = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in result.heaviest)
    imported = ", ".join(f"{name}: {by}" for name, by in result.watched.items())
    return [
        "### Start-up",
        "",
        *_table(["measure", "value"], [
            ["`invoke --list`, this project", f"{result.list_project * 1000:.0f} ms"],
            ["`invoke --list`, an empty tasks.py", f"{result.list_empty * 1000:.0f} ms"],
            ["ratio", f"{result.ratio:.2f}"],
            ["`python -X importtime -c 'import tasks'`: tasks.py in total",
             f"{result.import_total * 1000:.0f} ms"],
            ["heaviest modules it adds to what Invoke imports", heavy or "-"],
            ["imported on the start-up path?", imported],
        ]),
        "",
    ]


def _show(values: dict[int, float], fmt: str = "{:.2f}") -> str:
    return ", ".join(f"W={w}: {fmt.format(v)}" for w, v in values.items())


def deploy_targets(results: Results) -> list[list[str]]:
    rows: list[list[str]] = []
    tasks = [r for r in results.deploys if r.tool == "tasks"]
    if not tasks:
        return rows
    ws = sorted({r.workloads for r in tasks})
    per_env = {w: max(_of(_runs(results, "tasks", w), lambda r, e=e: r.env_overhead(e))
                      for e in ENVS) for w in ws}
    starts = {w: _of(_runs(results, "tasks", w), lambda r: r.startup) for w in ws}
    overhead = {w: _of(_runs(results, "tasks", w), lambda r: r.overhead) for w in ws}
    ratio = {w: _of(_runs(results, "tasks", w), lambda r: r.wall / r.limit) for w in ws}
    allowed = 1 + (len(ENVS) * ENV_BUDGET + STARTUP_BUDGET) / (
        len(ENVS) * results.rollout_seconds)
    counts = {w: max(_of(_runs(results, "tasks", w), lambda r, e=e: r.kubectl.get(e, 0))
                     for e in ENVS) for w in ws}
    return [
        [f"overhead per environment <= {ENV_BUDGET} s (worst env)", _show(per_env),
         _met(all(v <= ENV_BUDGET for v in per_env.values()))],
        [f"start-up overhead <= {STARTUP_BUDGET} s", _show(starts),
         _met(all(v <= STARTUP_BUDGET for v in starts.values()))],
        ["overhead no larger at the largest W than at the smallest", _show(overhead),
         _met(overhead[ws[-1]] <= overhead[ws[0]])],
        [f"deploy-all <= {allowed:.3f} x the limit (L = {results.rollout_seconds:g} s)",
         _show(ratio, "{:.3f}"), _met(all(v <= allowed for v in ratio.values()))],
        [f"kubectl processes per environment constant in W, <= {MAX_KUBECTL_PER_ENV}",
         _show(counts, "{:.0f}"),
         _met(len(set(counts.values())) == 1 and max(counts.values()) <= MAX_KUBECTL_PER_ENV)],
    ]


def app_targets(results: Results) -> list[list[str]]:
    """Issue 19's targets, on the application's overlays."""
    ws = sorted({r.workloads for r in results.apps if r.tool == "tasks"})
    if not ws:
        return []
    runs = {w: _runs(results.apps, "tasks", w) for w in ws}
    ratio = {w: _of(runs[w], lambda r: r.wall / r.limit) for w in ws}
    allowed = {w: APP_RATIO if w <= APP_LARGE_W else APP_RATIO_LARGE for w in ws}
    per_env = {w: statistics.fmean(_of(runs[w], lambda r, e=e: r.env_overhead(e))
                                   for e in ENVS) for w in ws}
    starts = {w: _of(runs[w], lambda r: r.startup) for w in ws}
    counts = {w: max(_of(runs[w], lambda r, e=e: r.kubectl.get(e, 0)) for e in ENVS)
              for w in ws}
    mid = [w for w in ws if w <= APP_LARGE_W]
    return [
        [f"application overlays: deploy-all <= {APP_RATIO} x the limit at W <= "
         f"{APP_LARGE_W}, <= {APP_RATIO_LARGE} x above (L = {results.rollout_seconds:g} s)",
         _show(ratio, "{:.3f}"), _met(all(ratio[w] <= allowed[w] for w in ws))],
        [f"application overlays: start-up <= {STARTUP_BUDGET} s at W = {max(mid or ws)}",
         _show(starts), _met(starts[max(mid or ws)] <= STARTUP_BUDGET)],
        [f"application overlays: overhead per environment (mean of the three) at W = "
         f"{ws[-1]} <= {APP_GROWTH:g} x that at W = {ws[0]}", _show(per_env),
         _met(per_env[ws[-1]] <= APP_GROWTH * per_env[ws[0]])],
        ["application overlays (phases on): kubectl processes per environment constant in W",
         _show(counts, "{:.0f}"), _met(len(set(counts.values())) == 1)],
    ]


def targets_section(results: Results) -> list[str]:
    rows = deploy_targets(results) + app_targets(results)
    if results.migrations:
        counts = migration_counts(results)
        rows.append([f"with a pre-deploy migration Job: kubectl processes per environment "
                     f"constant in W, <= {MAX_KUBECTL_PER_ENV_MIGRATION}",
                     ", ".join(f"W={w}: {c}" for w, c in counts.items()),
                     _met(len(set(counts.values())) == 1
                          and max(counts.values()) <= MAX_KUBECTL_PER_ENV_MIGRATION)])
    if results.failures:
        worst = max(r.to_undo_request for r in results.failures)
        rows.append([f"rollback starts within {ROLLBACK_REACTION:g} s of the failure",
                     f"first undo request after {worst:.2f} s (worst run)",
                     _met(worst <= ROLLBACK_REACTION)])
    if results.releases:
        counts = release_counts(results)
        rows.append(["releases (prune, --no-prune): kubectl processes per environment "
                     "constant in W, per case",
                     "; ".join(f"{case}: " + ", ".join(f"W={w}: {c}" for w, c in by_w.items())
                               for case, by_w in counts.items()),
                     _met(all(len(set(by_w.values())) == 1 for by_w in counts.values()))])
    if results.restores:
        staging: dict[int, int] = {}
        for run in results.restores:
            staging[run.workloads] = max(staging.get(run.workloads, 0), run.env_calls)
        rows.append(["failed staging rollout, restored: staging's kubectl processes constant "
                     "in W", ", ".join(f"W={w}: {c}" for w, c in sorted(staging.items())),
                     _met(len(set(staging.values())) == 1)])
        worst = max(r.to_action_process for r in results.restores)
        rows.append([f"restore starts within {ROLLBACK_REACTION:g} s of the failure",
                     f"first kubectl putting something back after {worst:.2f} s (worst run)",
                     _met(worst <= ROLLBACK_REACTION)])
    if results.startup:
        rows.append([f"`invoke --list` <= {LIST_RATIO} x an empty tasks.py",
                     f"{results.startup.ratio:.2f} x", _met(results.startup.ratio <= LIST_RATIO)])
    return ["### Targets", "", *_table(["target", "measured", "met"], rows), ""]


def migration_counts(results: Results) -> dict[int, int]:
    """W -> the most kubectl processes an environment took, with the migration Job."""
    counts: dict[int, int] = {}
    for run in results.migrations:
        most = max(run.kubectl.get(env, 0) for env in ENVS)
        counts[run.workloads] = max(counts.get(run.workloads, 0), most)
    return dict(sorted(counts.items()))


def migration_section(results: Results) -> list[str]:
    rows = [[str(w), f"{median(r.wall for r in results.migrations if r.workloads == w):.2f} s",
             str(count)] for w, count in migration_counts(results).items()]
    return ["### With a pre-deploy migration Job", "",
            "The same overlays with a Job annotated `globepay.dev/phase: pre-deploy` that runs "
            "the first workload's image and reads a generated ConfigMap: at each release it is "
            "replaced, applied and waited for before the Deployments are changed.", "",
            *_table(["W", "deploy-all (median)", "kubectl per environment (most)"], rows), ""]


def release_counts(results: Results) -> dict[str, dict[int, int]]:
    """case -> W -> the most kubectl processes an environment took."""
    counts: dict[str, dict[int, int]] = {}
    for run in results.releases:
        by_w = counts.setdefault(run.case, {})
        most = max(run.kubectl.get(env, 0) for env in ENVS)
        by_w[run.workloads] = max(by_w.get(run.workloads, 0), most)
    return {case: dict(sorted(by_w.items())) for case, by_w in counts.items()}


def releases_section(results: Results) -> list[str]:
    rows = []
    for case in dict.fromkeys(r.case for r in results.releases):
        for w in sorted({r.workloads for r in results.releases}):
            runs = [r for r in results.releases if r.case == case and r.workloads == w]
            if runs:
                counts = [_per_env(runs, count, "{:g}") for count in (
                    lambda r, e: r.kubectl.get(e, 0), lambda r, e: r.pruned.get(e, 0),
                    lambda r, e: r.kept.get(e, 0))]
                rows.append([case, str(w), *counts, f"{_of(runs, lambda r: r.wall):.2f}",
                             str(len(runs))])
    restores = []
    for w in sorted({r.workloads for r in results.restores}):
        items = [r for r in results.restores if r.workloads == w]
        steps = [r.to_first_action for r in items if r.to_first_action is not None]
        restores.append([
            str(w), f"{median(r.to_action_process for r in items):.2f}",
            f"{median(steps):.2f}", ", ".join(sorted({r.first_action for r in items})),
            f"{median(r.to_rolled_back for r in items):.2f}",
            f"{median(r.env_calls for r in items):.0f}",
            f"{median(r.after_failure for r in items):.0f}", str(len(items))])
    return [
        "### Releases: prune and restore",
        "",
        "A Service and a ConfigMap per workload besides the Deployments; every release changes "
        "every image and ConfigMap. Each case that leaves objects out follows a release that "
        "rendered them all (not measured); medians per environment (dev / staging / prod).",
        "",
        *_table(["case", "W", "kubectl per env", "pruned per env", "kept per env",
                 "deploy-all s", "runs"], rows),
        "",
        "A failed staging rollout (first workload broken, 2 s progress deadline) in a release "
        "that changed every ConfigMap: seconds after the sandbox marked it "
        "ProgressDeadlineExceeded to the first kubectl that puts something back; seconds "
        "from the tasks' `rollout failed` step to their first restore or rollback step (that "
        "action done); staging's kubectl processes (medians).",
        "",
        *_table(["W", "first restore kubectl started s", "`rollout failed` -> first action "
                 "step s", "first action", "staging rolled back s", "kubectl in staging",
                 "of them after the failure", "runs"], restores),
        "",
    ]


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(results: Results) -> str:
    load = " / ".join(f"{a:.1f}" for a in results.load_before)
    load_after = " / ".join(f"{a:.1f}" for a in results.load_after)
    lines = [
        "## Measured",
        "",
        "Produced by `make bench` "
        "(`python -m benchmarks`); the sandbox runs in the benchmark's process at time scale "
        f"1, rollout time L = {results.rollout_seconds:g} s, three environments, W = "
        f"{', '.join(map(str, results.workloads))} Deployments per environment (1 replica "
        "each), overlays generated into a temporary directory, kubectl counted by a wrapper "
        "on the configured path. Runs are interleaved (W and tool order rotate); figures are "
        "medians.",
        "",
        *_table(["", ""], [
            ["command", f"`{results.command}`"],
            ["date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())],
            ["machine", f"{os.cpu_count()} CPUs ({_cpu_model()}), Python "
                        f"{platform.python_version()}, {_kubectl_version()}"],
            ["load average (1/5/15 min) before / after", f"{load} / {load_after}"],
            ["duration", f"{results.minutes:.1f} min"],
        ]),
        "",
    ]
    if (results.deploys or results.failures or results.startup or results.migrations
            or results.releases or results.restores or results.apps):
        lines += targets_section(results)
    if results.deploys:
        lines += deploy_section(results) + phases_section(results)
    if results.apps:
        lines += deploy_section(results, app=True) + steps_section(results)
    if results.waits:
        lines += waits_section(results)
    if results.failures:
        lines += failure_section(results)
    if results.migrations:
        lines += migration_section(results)
    if results.releases or results.restores:
        lines += releases_section(results)
    if results.startup:
        lines += startup_section(results.startup)
    if results.latency:
        lines += ["### Sandbox request latency", "", results.latency, ""]
    return "\n".join(lines)
