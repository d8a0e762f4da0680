"""What a run did to each environment: the rows of the summary, the report and the history."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import artifacts
from ..hooks import HookResult
from ..kubectl import WorkloadRef
from ..workload_state import WorkloadState
from .plan import ObjectChange, PlannedChange

if TYPE_CHECKING:
    from ..manifests import Rendered
    from ..snapshot import Snapshot


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
    #: image -> the digest its pods report (the verification's read, or a failed rollout's)
    digests: dict[str, str] = field(default_factory=dict)
    #: the workloads whose own rollout failed (their new images are marked bad)
    failed_rollouts: list[str] = field(default_factory=list)
    allowed_bad: list[str] = field(default_factory=list)
    #: what putting the environment back did (``restore: configmap/app-config``, ``delete:
    #: deployment/worker (created by this run)``) and could not do (``not restored: ...``)
    restored: list[str] = field(default_factory=list)
    #: objects an earlier promotion applied that the overlay no longer renders: deleted after
    #: the rollout (``pruned``), or kept (``--no-prune``)
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    #: the overlay this run applies and the namespace as read before its first write: what
    #: a failure puts back, and the release a success records
    rendered: Rendered | None = field(default=None, repr=False)
    before: Snapshot | None = field(default=None, repr=False)

    @property
    def left_release(self) -> bool:
        """Whether this run left a release in its environment: a deploy or promotion that
        succeeded, or a rollback to a recorded release."""
        if self.rendered is None:
            return False
        return self.outcome == "succeeded" or (self.action == "rollback"
                                              and self.outcome == "rolled back")

    def failed_with(self, outcome: str, reason: str, exit_code: int) -> None:
        """Set the outcome, reason and exit status of a run that did not succeed."""
        self.outcome, self.reason, self.exit_code = outcome, reason, exit_code
