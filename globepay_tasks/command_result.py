"""What a finished command gives back: its `CommandResult`, and the exit codes the runners
report themselves (a timeout, a failed SSH connection)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .retry import is_transient, not_answering

#: Exit code reported for a command stopped by its timeout (as coreutils' timeout does).
TIMED_OUT = 124
#: The line added to a read the runner stopped because the API server did not answer.
NO_ANSWER = "kubectl stopped: no answer within"
#: Exit code reported when the SSH connection failed or was lost (as ssh itself does).
SSH_FAILED = 255
#: The line kubectl adds after a usage error.
_USAGE_HINT = re.compile(r"See '.*--help' for usage\.")


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def error_line(self) -> str:
        """The last non-empty line of stderr (or stdout): kubectl's own error message (not
        the ``See '... --help' for usage.`` after a usage error), after ``API server not
        answering:`` when the server let a request time out."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines()
                     if line.strip() and not _USAGE_HINT.fullmatch(line.strip())]
            if lines:
                return f"API server not answering: {lines[-1]}" if self.not_answering else (
                    lines[-1])
        return f"exit code {self.exit_code}"

    @property
    def not_answering(self) -> bool:
        """Failed because the API server did not answer within the request timeout."""
        return not self.ok and not_answering(self.stderr)

    @property
    def transient(self) -> bool:
        """Failed in a way a retry may get past (connection trouble, a 5xx answer; not a
        server that let the request time out: it had the whole timeout to answer)."""
        return (not self.ok and self.exit_code != TIMED_OUT and is_transient(self.stderr)
                and not self.not_answering)
