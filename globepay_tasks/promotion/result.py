"""What a run did to each environment: the rows of the summary, the report and the history."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import artifacts
from ..hooks import HookResult
from ..kubectl import WorkloadRef
from ..workloads import WorkloadState
from .plan import ObjectChange, PlannedChange


@dataclass
class WorkloadChange:
    """One workload before and after this run's apply."""

    ref: WorkloadRef
    before: WorkloadState
    after: WorkloadState

    @property
    def created(self) -> bool:
        return not self.before.exists and self.after.exists

    @property
    def changed(self) -> bool:
        return self.created or (self.before.exists and self.before.template != self.after.template)


@dataclass
class EnvResult:
    """What happened to one environment in this run (the summary's and report's row)."""

    env: str
    action: str
    namespace: str = ""
    context: str = ""
    outcome: str = "not started"
    seconds: float = 0.0
    reason: str = ""
    exit_code: int = 0
    changes: list[WorkloadChange] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    hooks: list[HookResult] = field(default_factory=list)
    revisions: dict[str, tuple[str, str]] = field(default_factory=dict)
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    plan: list[PlannedChange] = field(default_factory=list)
    #: the plan of the rendered objects without a pod template
    others: list[ObjectChange] = field(default_factory=list)
    id: str = ""
    source: str = ""
    failure: str = ""
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime()))
    requested: dict[str, str] = field(default_factory=dict)
    running: list[artifacts.RunningImage] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    allowed_bad: list[str] = field(default_factory=list)

    def failed_with(self, outcome: str, reason: str, exit_code: int) -> None:
        """Set the outcome, reason and exit status of a run that did not succeed."""
        self.outcome, self.reason, self.exit_code = outcome, reason, exit_code
