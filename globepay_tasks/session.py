"""One promotion task's session: what runs around the task's body, without Invoke's parser.

`run_promotion` builds the progress, runner, audit and `Promoter` the body runs with, maps its
failure to an `ExitStatus`, prints the summary, writes the report and the GitHub job summary,
and raises `RunFailed` (a `PromotionError` carrying the run's status) when the run failed.
Tests call it with an `invoke.Context` or `invoke.MockContext`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config_sources
from .config import Settings, load_settings
from .errors import ExitStatus, PromotionError
from .settings import Overrides

if TYPE_CHECKING:
    from invoke import Context

    from .promotion import Promoter


class RunFailed(PromotionError):
    """A run that failed or was interrupted, after its summary and report were written;
    ``exit_code`` is the status its failure maps to, ``message`` its (redacted) error."""

    def __init__(self, message: str, exit_code: ExitStatus) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def settings_of(c: Context, warn: Callable[[str], object] | None = None) -> Settings:
    """The validated ``globepay`` settings of an Invoke context, its sources checked first
    (`config_sources.check`: its warnings go to ``warn``, else to stderr)."""
    for line in config_sources.check(c.config):
        (warn or _to_stderr)(line)
    return load_settings(c.config.get("globepay"))


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def project_root(c: Context) -> Path:
    """The directory of the project's ``invoke.yaml``/``tasks.py`` (else the current one)."""
    prefix = getattr(c.config, "_project_prefix", None)
    return Path(prefix) if prefix else Path.cwd()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) is handled like Ctrl-C: stop, roll back, exit with
    `ExitStatus.INTERRUPTED`."""
    from .interrupts import request_interrupt

    def handler(signum: int, frame: Any) -> None:
        request_interrupt()
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_promotion(c: Context, task: str, body: Callable[[Promoter], object], *,
                  report: str | None = None, dry_run: bool = False, rollback: bool = True,
                  images: list[str] | None = None, record: bool = False,
                  allow_bad: bool = False, host: str | None = None,
                  host_envs: list[str] | None = None, prune: bool | None = None,
                  flags: Overrides | None = None) -> dict[str, Any]:
    """Run ``body`` with a `Promoter` for the context ``c``; the run's report (`RunFailed`
    instead when it failed). ``report``: also write it to that file (a bad path is a
    `ConfigError` before anything runs). ``record``: write history records. ``host``
    (--host) replaces the host of ``host_envs`` (default: every environment of the chain).
    ``prune`` (--no-prune: False) wins over ``globepay.prune``, ``flags`` over the
    configuration (`Settings.with_overrides`; ``--kubeconfig`` is checked for ``host_envs``)."""
    from . import github, workloads
    from .audit import Audit
    from .command_log import LoggedRunner
    from .progress import Progress
    from .promotion import Promoter
    from .report import build_report, check_report_path, print_summary, write_report

    if report:
        check_report_path(report)
    progress = Progress()
    runner = LoggedRunner(c, progress, dry_run=dry_run)
    status, message = ExitStatus.SUCCESS, ""
    promoter = None
    try:
        settings = settings_of(c, lambda line: progress.write(line, "warn"))
        names = host_envs or settings.order
        settings = settings.with_host(host, names).with_overrides(flags or Overrides(), names)
        progress.redact.add_kubeconfig(settings.kubeconfig)
        overrides = workloads.parse_image_overrides(images or [])
        audit = Audit(runner, progress, project_root=project_root(c),
                      history_limit=settings.history_limit) if record else None
        promoter = Promoter(settings, runner, progress, project_root=project_root(c),
                            rollback_on_failure=rollback, images=overrides, audit=audit,
                            allow_bad=allow_bad,
                            prune=settings.prune if prune is None else prune)
        with promoter, terminate_as_interrupt():
            body(promoter)
    except PromotionError as error:
        status, message = error.exit_code, error.message
    except KeyboardInterrupt:
        status, message = ExitStatus.INTERRUPTED, "interrupted"
    finally:
        runner.close()
    results = promoter.results if promoter else []
    data = build_report(task, sys.argv, progress, results, status, message, dry_run=dry_run)
    print_summary(progress, data)
    if report:
        try:
            write_report(report, data)
        except OSError as error:
            progress.write(f"warning: could not write the report {report}: {error}", "warn")
    warning = github.publish(data, os.environ, progress.write)
    if warning:
        progress.write(warning, "warn")
    if status != ExitStatus.SUCCESS:
        raise RunFailed(data["message"], status)
    return data
