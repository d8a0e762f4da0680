"""``python -m benchmarks``: how close a promotion comes to the cluster's own time.

Runs, in one go and interleaved, ``invoke deploy-all --yes`` and the naive baseline at each W,
the wait strategies side by side, the failure reaction and the start-up figures, then writes
the tables to docs/benchmarks.md (``--quick``: a short smoke run printed to stdout). Only when
asked (``--only releases``; 24 min at W = 2, 50, 3 repetitions): the releases' prune and restore
cases. ``--only app``: deploy-all of an application's overlays (a ConfigMap, a Secret and a
Service beside each Deployment, a pre-deploy migration Job; the preflight's dry run and the
prune on, as by default) against the baseline, interleaved, with the time, the sandbox
requests and the kubectl processes of every step.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import deploy, failure, releases, startup, waits
from .project import ENVS, BenchProject, workload_names
from .report import Results, render

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
LATENCY = Path(__file__).with_name("sandbox_latency.py")
BEGIN, END = "<!-- measured: begin -->", "<!-- measured: end -->"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: L=1 s, W=2,10, one repetition, printed to stdout")
    parser.add_argument("--rollout-seconds", type=float, help="rollout time L (default 5)")
    parser.add_argument("--workloads", help="comma-separated W values (default 2,10,50)")
    parser.add_argument("--repetitions", type=int, help="deploy-all runs per W and tool (5)")
    parser.add_argument("--only", help="comma-separated parts: deploy,waits,failure,"
                        "migration,startup,latency (default: these), releases, app")
    parser.add_argument("--output", help="markdown file to write ('-': stdout; default "
                        "docs/benchmarks.md, stdout with --quick)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rollout_seconds = args.rollout_seconds or (1.0 if quick else 5.0)
    args.workloads = [int(w) for w in (args.workloads or ("2,10" if quick else "2,10,50"))
                      .split(",")]
    args.repetitions = args.repetitions or (1 if quick else 5)
    args.only = set((args.only or "deploy,waits,failure,migration,startup,latency")
                    .split(","))
    args.output = args.output or ("-" if quick else str(DOCS))
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_deploys(args: argparse.Namespace, tmp: Path, results: Results, *,
                app: bool = False) -> None:
    """Every (repetition, W, tool) once, W and tool order rotating between repetitions
    (``app``: the application's overlays, into ``results.apps``). The tasks are measured
    over a release of their own, as a team running them has it: where the baseline's
    release came last (its client-side apply writes its own last-applied configuration),
    an unmeasured release of the tasks goes first."""
    part = "app" if app else "deploy"
    into = results.apps if app else results.deploys
    projects = {w: BenchProject(tmp / f"{part}-w{w}", w, args.rollout_seconds, app=app)
                for w in args.workloads}
    try:
        last = {}
        for w, project in projects.items():
            project.__enter__()
            log(f"{part} W={w}: first release (not measured)")
            deploy.measure(project, "tasks", "0.0.0")
            last[w] = "tasks"
        for rep in range(args.repetitions):
            order = args.workloads[rep % len(args.workloads):] + \
                args.workloads[:rep % len(args.workloads)]
            for w in order:
                tools = deploy.TOOLS if rep % 2 == 0 else deploy.TOOLS[::-1]
                for tool in tools:
                    if tool != last[w]:
                        log(f"{part} W={w}: {tool}, a release over the {last[w]} one's "
                            "(not measured)")
                        deploy.measure(projects[w], tool, f"1.{rep}.0")
                    last[w] = tool
                    result = deploy.measure(projects[w], tool, f"1.{rep}.{len(tool)}")
                    into.append(result)
                    log(f"{part} W={w} {tool}: {result.wall:.2f}s (limit {result.limit:.2f}s), "
                        f"{max(result.kubectl[e] for e in ENVS)} kubectl and "
                        f"{max(result.requests[e] for e in ENVS)} requests per env, "
                        f"CPU {result.cpu:.1f}s")
    finally:
        for project in projects.values():
            project.__exit__()


def run_waits(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    trials = max(1, min(3, args.repetitions))
    for w in args.workloads:
        with BenchProject(tmp / f"waits-w{w}", w, args.rollout_seconds) as project:
            deploy.measure(project, "tasks", "0.0.0")
            for rep in range(trials):
                for strategy in waits.STRATEGIES:
                    result = waits.trial(project, strategy, f"2.{rep}.{len(strategy)}")
                    results.waits.append(result)
                    log(f"wait W={w} {strategy}: {result.after_cluster:.2f}s after the cluster")


def run_failures(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    trials = max(1, min(3, args.repetitions))
    for w in (min(args.workloads), max(args.workloads)):
        # staging keeps the broken image its overlay sets, instead of receiving dev's
        with BenchProject(tmp / f"failure-w{w}", w, args.rollout_seconds, broken_deadline=2,
                          keep={failure.ENV: [workload_names(w)[0]]}) as project:
            deploy.measure(project, "tasks", "0.0.0")
            for rep in range(trials):
                result = failure.trial(project, f"3.{rep}.0")
                results.failures.append(result)
                log(f"failure W={w}: undo request {result.to_undo_request:.2f}s after")
        if min(args.workloads) == max(args.workloads):
            break


def run_migrations(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    """deploy-all of an overlay with a pre-deploy migration Job (replaced at each release):
    the phases' kubectl processes per environment, at each W."""
    trials = max(1, min(3, args.repetitions))
    for w in args.workloads:
        with BenchProject(tmp / f"migration-w{w}", w, args.rollout_seconds,
                          migration=True) as project:
            deploy.measure(project, "tasks", "0.0.0")
            for rep in range(trials):
                result = deploy.measure(project, "tasks", f"4.{rep}.0")
                results.migrations.append(result)
                log(f"migration W={w}: {result.wall:.2f}s, "
                    f"{max(result.kubectl[e] for e in ENVS)} kubectl per env")


def run_releases(args: argparse.Namespace, tmp: Path, results: Results) -> None:
    """The releases cases (prune, --no-prune) and a failed staging rollout that changed
    ConfigMaps (restore), at each W."""
    trials = max(1, min(3, args.repetitions))
    for w in args.workloads:
        with releases.cases_project(tmp / f"releases-w{w}", w, args.rollout_seconds) as project:
            deploy.measure(project, "tasks", "0.0.0")
            for rep in range(trials):
                results.releases += releases.cases(project, rep, log)
        with releases.restore_project(tmp / f"restore-w{w}", w,
                                      args.rollout_seconds) as project:
            deploy.measure(project, "tasks", "0.0.0")
            for rep in range(trials):
                result = releases.restore(project, rep)
                results.restores.append(result)
                log(f"restore W={w}: first restore kubectl {result.to_action_process:.2f}s "
                    f"after the failure, {result.env_calls} kubectl in staging")


def run_latency(results: Results) -> None:
    if not LATENCY.exists():
        results.latency = "benchmarks/sandbox_latency.py is not present in this tree."
        return
    command = [sys.executable, "benchmarks/sandbox_latency.py"]
    done = subprocess.run(command, cwd=LATENCY.parents[1], capture_output=True, text=True)
    results.latency = (f"`{shlex.join(['python', *command[1:]])}` (exit {done.returncode}):\n\n"
                       "```\n" + (done.stdout + done.stderr).strip() + "\n```")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = Results(command=shlex.join(["python", "-m", "benchmarks",
                                          *(sys.argv[1:] if argv is None else argv)]),
                      rollout_seconds=args.rollout_seconds, workloads=args.workloads,
                      repetitions=args.repetitions, load_before=os.getloadavg())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="globepay-bench-") as tmp:
        if "startup" in args.only:
            log("start-up")
            results.startup = startup.measure(5 if args.quick else 20)
        if "deploy" in args.only:
            run_deploys(args, Path(tmp), results)
        if "waits" in args.only:
            run_waits(args, Path(tmp), results)
        if "failure" in args.only:
            run_failures(args, Path(tmp), results)
        if "app" in args.only:
            run_deploys(args, Path(tmp), results, app=True)
        if "migration" in args.only:
            run_migrations(args, Path(tmp), results)
        if "releases" in args.only:
            run_releases(args, Path(tmp), results)
    if "latency" in args.only:
        log("sandbox latency")
        run_latency(results)
    results.load_after = os.getloadavg()
    results.minutes = (time.monotonic() - started) / 60
    text = render(results)
    if args.output == "-":
        print(text)
    else:
        write(Path(args.output), text)
        log(f"wrote {args.output}")
    return 0


def write(path: Path, text: str) -> None:
    """Put ``text`` between the file's result markers (the rest of the file is kept), or
    write the whole file if it has none."""
    body = f"{BEGIN}\n{text}\n{END}\n"
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        body = head + body + rest.partition(END)[2].lstrip("\n")
    path.write_text(body)


if __name__ == "__main__":
    raise SystemExit(main())
