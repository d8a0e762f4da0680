"""A `Runner` that records every command it runs in the run's `Progress` (for the report)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .command_result import CommandResult
from .progress import Progress
from .runner import Runner


class LoggedRunner(Runner):
    """Runs commands like `Runner` and records each one (redacted) with its exit code and
    timing; dry-run announcements are recorded with ``exit_code`` None."""

    def __init__(self, context: Any, progress: Progress, **options: Any) -> None:
        options.setdefault("announce", progress.write)
        super().__init__(context, **options)
        self.progress = progress

    def run(self, argv: Sequence[str] | str, *, local_only: bool = False,
            **options: Any) -> CommandResult:
        started = time.monotonic()
        result = super().run(argv, local_only=local_only, **options)
        announced = self.dry_run and not local_only
        self.progress.command(self.describe(argv), started,
                              None if announced else result.exit_code, announced)
        return result
