"""Error types of the promotion tasks, one per failure kind, each with its exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The process status of every task, one per failure kind (documented in ``--help``,
    the README and the report's ``exit_meaning``)."""

    SUCCESS = 0
    ERROR = 1
    ROLLOUT_FAILED = 2
    HOOK_FAILED = 3
    ROLLBACK_FAILED = 4
    LOCKED = 5
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @classmethod
    def describe(cls, code: int) -> str:
        """The meaning of ``code`` (``unknown`` for a status no task produces)."""
        try:
            return cls(code).meaning
        except ValueError:
            return "unknown"


_MEANINGS = {
    ExitStatus.SUCCESS: "success",
    ExitStatus.ERROR: "usage, configuration or render error; nothing was touched",
    ExitStatus.ROLLOUT_FAILED: "rollout failed; what the run changed was rolled back",
    ExitStatus.HOOK_FAILED: "hook failed (pre: nothing changed; post: rolled back)",
    ExitStatus.ROLLBACK_FAILED: "rollback failed; the environment needs attention",
    ExitStatus.LOCKED: "environment locked by another promotion",
    ExitStatus.INTERRUPTED: "interrupted",
}


class PromotionError(Exception):
    """Base of every error the tasks report to the user; ``exit_code`` is the process status."""

    exit_code: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(PromotionError):
    """Bad configuration, bad input or an overlay that does not render: nothing was touched."""

    exit_code: ExitStatus = ExitStatus.ERROR


class ClusterError(PromotionError):
    """A kubectl call failed before anything was changed (unreachable server, rejected object)."""

    exit_code: ExitStatus = ExitStatus.ERROR


class RolloutFailed(PromotionError):
    """A workload did not roll out in time; what this run changed was rolled back."""

    exit_code: ExitStatus = ExitStatus.ROLLOUT_FAILED


class ApplyFailed(RolloutFailed):
    """The server refused the apply; what it changed was rolled back."""


class ServerNotAnswering(RolloutFailed):
    """The API server did not answer during the wait: how the rollout went is unknown (no
    image is marked bad for it); what this run changed was rolled back, if it could be."""


class VerificationFailed(RolloutFailed):
    """The rolled-out workloads do not run the images the promotion intended."""


class HookFailed(PromotionError):
    """A pre- or post-promotion hook failed."""

    exit_code: ExitStatus = ExitStatus.HOOK_FAILED


class RollbackFailed(PromotionError):
    """Undoing a change failed: the environment needs attention."""

    exit_code: ExitStatus = ExitStatus.ROLLBACK_FAILED


class EnvironmentLocked(PromotionError):
    """Another promotion holds the environment's lock."""

    exit_code: ExitStatus = ExitStatus.LOCKED


class LockLost(EnvironmentLocked):
    """This run's lock was removed or taken over while it ran: it stopped before its next
    write (nothing rolled back, no history record), leaving the environment to the other run."""


class Interrupted(PromotionError):
    """SIGINT or SIGTERM stopped the run."""

    exit_code: ExitStatus = ExitStatus.INTERRUPTED
