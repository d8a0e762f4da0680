"""Error types of the promotion tasks, one per failure kind, each with its exit code."""

from __future__ import annotations


class PromotionError(Exception):
    """Base of every error the tasks report to the user; ``exit_code`` is the process status."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(PromotionError):
    """Bad configuration, bad input or an overlay that does not render: nothing was touched."""

    exit_code = 1


class ClusterError(PromotionError):
    """A kubectl call failed before anything was changed (unreachable server, rejected object)."""

    exit_code = 1


class RolloutFailed(PromotionError):
    """A workload did not roll out in time; what this run changed was rolled back."""

    exit_code = 2


class ApplyFailed(RolloutFailed):
    """The server refused the apply; what it changed was rolled back."""


class VerificationFailed(RolloutFailed):
    """The rolled-out workloads do not run the images the promotion intended."""


class HookFailed(PromotionError):
    """A pre- or post-promotion hook failed."""

    exit_code = 3


class RollbackFailed(PromotionError):
    """Undoing a change failed: the environment needs attention."""

    exit_code = 4


class EnvironmentLocked(PromotionError):
    """Another promotion holds the environment's lock."""

    exit_code = 5


class Interrupted(PromotionError):
    """SIGINT or SIGTERM stopped the run."""

    exit_code = 130


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "usage, configuration or render error; nothing was touched",
    2: "rollout failed; what the run changed was rolled back",
    3: "hook failed (pre: nothing changed; post: rolled back)",
    4: "rollback failed; the environment needs attention",
    5: "environment locked by another promotion",
    130: "interrupted",
}
