"""Promotion: preflight, the chain, hooks as gates, and rollback decisions.

`Promoter` is the facade the tasks use; each step lives in a module of its own:

- `preflight`: render every environment, check where it writes, read it, refuse bad images;
- `plan`: what an apply will change; `deploy`: one environment's apply, wait, verification;
- `gates`: pre- and post-promotion hooks; `failure`: undoing what a failed run changed;
- `locks` and `record`: the environment's lock and history record around a run;
- `rollback`: ``invoke rollback``; `chain` and `multicluster`: many environments, many clusters;
- `result`: what happened to each environment.

No Invoke imports here: everything runs through a `Runner` and reports through `Progress`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from .. import guards
from ..errors import ClusterError, PromotionError
from ..kubectl import Target
from ..manifests import Rendered
from ..overlay_render import Overlay
from ..progress import Progress
from ..runner import Runner
from ..settings import Environment, Settings
from ..snapshot import Snapshot
from . import deploy, failure, gates, locks, preflight, rollback
from .preflight import needs_confirmation
from .result import EnvResult, WorkloadChange

if TYPE_CHECKING:
    from ..audit import Audit
    from ..lock import EnvLock
    from .record import Ending


class Promoter:
    """Deploys environments one at a time and undoes exactly what a failed run changed.

    Holds what one run shares between its environments; the steps are the functions of this
    package's modules, each given the promoter.
    """

    def __init__(
        self,
        settings: Settings,
        runner: Runner,
        progress: Progress,
        *,
        project_root: Path,
        rollback_on_failure: bool = True,
        images: Mapping[str, str] | None = None,
        audit: Audit | None = None,
        allow_bad: bool = False,
        prune: bool = True,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.progress = progress
        self.project_root = project_root
        self.rollback_on_failure = rollback_on_failure
        self.images = dict(images or {})
        self.audit = audit
        self.allow_bad = allow_bad
        self.prune = prune
        self.results: list[EnvResult] = []
        #: env name -> the images this run sets in it
        self.requested: dict[str, dict[str, str]] = {}
        #: env name -> its namespace as read once, until its deploy takes it
        self.snapshots: dict[str, Snapshot] = {}
        #: envs whose namespace the preflight's server check found missing (a first deploy)
        self.new_namespaces: set[str] = set()
        #: env name -> the env, its lock taken ahead of its deploy (`hold`), and the snapshot
        #: the lock was taken on
        self.held: dict[str, tuple[Environment, EnvLock | None, Snapshot]] = {}
        #: None: a deploy records its outcome and releases its lock as it ends; a list: it
        #: leaves that here (`record.Ending`), for a multi-cluster environment to do once
        #: every target has ended
        self.endings: list[Ending] | None = None
        #: env name -> the lock its deploy holds now (`locks.confirm` before each write)
        self.locks: dict[str, EnvLock] = {}
        #: each overlay as kustomize renders it, without this run's images (rendered once)
        self.overlays: dict[str, Overlay] = {}
        #: --overlay-images: the environment before the one deployed and the images it runs
        #: (name -> reference), each image that differs marked in the plan (`plan.marked`)
        self.compared: tuple[str, dict[str, str]] | None = None
        #: temporary kustomizations, removed when the run ends
        self.stack = ExitStack()
        #: asks whether an environment may be changed, after its plan was shown (a
        #: `ConfigError` if not); None: nothing to ask
        self.confirm: Callable[[Environment], None] | None = None
        runner.retry = settings.retries
        self.guard = guards.TargetGuard(runner, settings)

    def __enter__(self) -> Promoter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_held()
        self.stack.close()

    def target(self, env: Environment) -> Target:
        return self.settings.target(env)

    def render(self, env: Environment, overrides: Mapping[str, str] | None = None, *,
               carried: bool = False) -> Rendered:
        """Render one environment and check where it would write (`preflight.render`)."""
        return preflight.render(self, env, overrides, carried=carried)

    def check_targets(self, envs: Sequence[Environment]) -> None:
        """Each env's kube contexts exist and point at its configured server."""
        for env in envs:
            self.guard.check(env)

    def preflight(self, envs: Sequence[Environment], *, carry: bool = False,
                  targets: bool = True, read: bool = False) -> dict[str, Rendered]:
        """Render and check every environment before any is touched (`preflight.preflight`)."""
        return preflight.preflight(self, envs, carry=carry, targets=targets, read=read)

    def snapshot(self, env: Environment, rendered: Rendered | None) -> Snapshot:
        """The env's namespace as read once (`preflight.snapshot`)."""
        return preflight.snapshot(self, env, rendered)

    def check_bad(self, env: Environment, rendered: Rendered, *, announce: bool = True,
                  known: Snapshot | None = None) -> list[str]:
        """Refuse images marked bad in ``env`` unless ``allow_bad`` (`preflight.check_bad`)."""
        return preflight.check_bad(self, env, rendered, announce=announce, known=known)

    def hold(self, envs: Sequence[tuple[Environment, Rendered]]) -> None:
        """Take the locks of all ``envs`` before the first is deployed (`locks.hold`)."""
        locks.hold(self, envs)

    def release_held(self) -> None:
        """Release the locks `hold` took for environments that were not deployed."""
        locks.release_held(self)

    def deploy(self, env: Environment, rendered: Rendered, *, action: str = "deploy",
               source: str = "") -> EnvResult:
        """Hooks, apply, wait, verify, hooks; on failure undo what changed and raise
        (`deploy.deploy`)."""
        return deploy.deploy(self, env, rendered, action=action, source=source)

    def gate(self, env: Environment, result: EnvResult) -> None:
        """Run ``env``'s pre-promotion hooks on their own (once for all its clusters)."""
        gates.run_hooks(self, env, gates.PRE, result)

    def revert(self, env: Environment, result: EnvResult, error: PromotionError) -> None:
        """Undo what a finished deploy of ``env`` changed because ``error`` failed the run
        elsewhere (`failure.revert`)."""
        failure.revert(self, env, result, error)

    def rollback(self, env: Environment, *, to_revision: int | None = None,
                 only: str | None = None, to_release: str | None = None) -> EnvResult:
        """The env back to a recorded release, or its workloads through ``kubectl rollout
        undo``, waited on (`rollback.rollback`)."""
        return rollback.rollback(self, env, to_revision=to_revision, only=only,
                                 to_release=to_release)

    def unlock(self, env: Environment, *, force: bool = False,
               ask: Callable[[str, str], None] | None = None) -> None:
        """Remove the env's lock by hand, naming the holder removed; a live holder's only
        with ``force``, after ``ask`` (`locks.unlock`)."""
        locks.unlock(self, env, force=force, ask=ask)


__all__ = ["ClusterError", "EnvResult", "Promoter", "WorkloadChange", "needs_confirmation"]
