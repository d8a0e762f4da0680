"""Start-up: ``invoke --list`` for the project against an empty ``tasks.py``, and what
importing the task collection costs (``python -X importtime``)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .deploy import INVOKE

REPO = Path(__file__).resolve().parents[1]
#: Modules whose presence on the start-up path is worth naming.
WATCHED = ("yaml", "fabric", "paramiko", "globepay_tasks.sandbox", "urllib.request", "ssl")


@dataclass
class StartupResult:
    list_project: float
    list_empty: float
    import_total: float
    heaviest: list[tuple[str, float]] = field(default_factory=list)
    watched: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.list_project / self.list_empty


def _time(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def _import_times(code: str) -> dict[str, float]:
    """Cumulative seconds per module imported by ``python -c CODE`` (``-X importtime``)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO,
                            capture_output=True, text=True, check=True)
    modules: dict[str, float] = {}
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            modules[parts[2].strip()] = int(parts[1]) / 1e6
    return modules


def import_profile() -> tuple[float, list[tuple[str, float]], dict[str, str]]:
    """Seconds to import the project's ``tasks.py``, the heaviest modules it adds to what
    Invoke imports anyway, and whether (and by whom) each of `WATCHED` is imported."""
    modules = _import_times("import tasks")
    invoke = _import_times("import invoke")
    added = sorted(((m, s) for m, s in modules.items() if m not in invoke and m != "tasks"),
                   key=lambda item: -item[1])
    watched = {name: "by Invoke itself" if name in invoke else
               "by the tasks" if name in modules else "no" for name in WATCHED}
    return modules.get("tasks", 0.0), added[:8], watched


def measure(repetitions: int) -> StartupResult:
    """Median ``invoke --list`` times, interleaved, and the import profile."""
    project, empty = [], []
    with tempfile.TemporaryDirectory(prefix="bench-empty-") as tmp:
        Path(tmp, "tasks.py").write_text("")
        for _ in range(repetitions):
            project.append(_time([INVOKE, "--list"], REPO))
            empty.append(_time([INVOKE, "--list"], Path(tmp)))
    imports = [import_profile() for _ in range(max(3, repetitions // 3))]
    median = statistics.median(i[0] for i in imports)
    chosen = min(imports, key=lambda i: abs(i[0] - median))
    return StartupResult(statistics.median(project), statistics.median(empty), median,
                         chosen[1], chosen[2])
