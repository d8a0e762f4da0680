"""Invoke tasks: a thin layer over `globepay_tasks.promotion` (the only module with ``@task``).

A promotion task hands its body to `session.run_promotion`; every task leaves on failure
through `exits_on_error` (``error: MESSAGE`` and the error's `ExitStatus`). Only the
configuration's defaults are imported here; its validation and the promotion machinery are
imported when a task runs, so that ``invoke --list`` and shell completion stay about as quick
as Invoke itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from invoke import Collection, Context
from invoke.exceptions import Exit

from . import defaults, excepthook
from .errors import ClusterError, ConfigError, PromotionError
from .flags import DEPLOY_HELP, ENV_HELP, KUBECONFIG_HELP, OVERLAY_HELP, WHERE_HELP, task

if TYPE_CHECKING:
    from .promotion import Promoter
    from .settings import Overrides


def _flags(*values: Any) -> Overrides:
    from .settings import Overrides  # when a task runs: `invoke --list` stays quick
    return Overrides(*values)


@contextmanager
def exits_on_error() -> Iterator[None]:
    """The task layer's one way out on failure: a `PromotionError` becomes Invoke's `Exit`
    with the one line ``error: MESSAGE`` and the error's `ExitStatus`."""
    try:
        yield
    except PromotionError as error:
        raise Exit(f"error: {error.message}", code=error.exit_code) from None


def _deploy(c: Context, env_name: str, dry_run: bool, yes: bool, no_rollback: bool,
            image: list[str] | None, report: str | None, allow_bad: bool, host: str | None,
            no_prune: bool, flags: Overrides, overlay_images: bool,
            task_name: str = "deploy") -> None:
    from .confirm import Confirmation
    from .promotion import chain
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        env = promoter.settings.environment(env_name)
        confirmation = Confirmation([env], yes=yes, dry_run=dry_run)
        promoter.confirm = confirmation.ask_for
        chain.deploy_one(promoter, env, confirmation.check, overlay_images=overlay_images)

    with exits_on_error():
        run_promotion(c, task_name, body, report=report, dry_run=dry_run,
                      rollback=not no_rollback, images=image, record=True, allow_bad=allow_bad,
                      host=host, host_envs=[env_name], prune=False if no_prune else None,
                      flags=flags)


@task(help={"env": "environment to deploy (a name under globepay.environments)", **DEPLOY_HELP,
            **ENV_HELP, **OVERLAY_HELP}, iterable=["image"])
def deploy(c, env, dry_run=False, yes=False, no_rollback=False, image=None, report=None,
           allow_bad=False, host=None, no_prune=False, context=None, namespace=None,
           timeout=None, kubeconfig=None, overlay_images=False):
    """Deploy one environment: hooks, kubectl apply, wait for every workload, verify the
    images, hooks; then a history record in the environment's namespace. After the first of
    globepay.order it receives what the one before runs (promote_images; that one healthy).

    Shows the plan first; on a failed rollout, verification or post-promotion hook, rolls
    back what this run changed (unless --no-rollback). Exit codes: 0 success, 1 usage,
    configuration or render error, a known-bad image or an unhealthy previous environment
    (nothing touched), 2 rollout or verification failed (rolled back), 3 hook failed,
    4 rollback failed, 5 environment locked by another promotion, 130 interrupted.
    """
    _deploy(c, env, dry_run, yes, no_rollback, image, report, allow_bad, host, no_prune,
            _flags(kubeconfig, env, context, namespace, timeout), overlay_images)


def _deploy_task(env_name: str) -> Any:
    def body(c, dry_run=False, yes=False, no_rollback=False, image=None, report=None,
             allow_bad=False, host=None, no_prune=False, context=None, namespace=None,
             timeout=None, kubeconfig=None, overlay_images=False):
        _deploy(c, env_name, dry_run, yes, no_rollback, image, report, allow_bad, host,
                no_prune, _flags(kubeconfig, env_name, context, namespace, timeout),
                overlay_images, f"deploy-{env_name}")

    body.__doc__ = f"Deploy {env_name}: the same as deploy --env {env_name}."
    body.__name__ = f"deploy_{env_name}"
    return task(body, name=f"deploy-{env_name}", help={**DEPLOY_HELP, **ENV_HELP, **OVERLAY_HELP},
                iterable=["image"])


deploy_dev = _deploy_task("dev")
deploy_staging = _deploy_task("staging")
deploy_prod = _deploy_task("prod")


@task(help={**DEPLOY_HELP, **KUBECONFIG_HELP}, iterable=["image"])
def deploy_all(c, dry_run=False, yes=False, no_rollback=False, image=None, report=None,
               allow_bad=False, host=None, no_prune=False, kubeconfig=None):
    """Promote through every environment of globepay.order; the first failure stops the chain.

    Every environment is rendered first (preflight); each is then deployed as `deploy` does,
    with the same exit codes (see invoke --help deploy). With globepay.promote_images, each
    environment after the first receives the images the one before it ran when its
    post-promotion hooks passed (digest-pinned).
    """
    from .confirm import Confirmation
    from .promotion import chain
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        envs = list(promoter.settings.chain())
        confirmation = Confirmation(envs, yes=yes, dry_run=dry_run)
        promoter.confirm = confirmation.ask_for
        chain.deploy_chain(promoter, envs, confirmation.check)

    with exits_on_error():
        run_promotion(c, "deploy-all", body, report=report, dry_run=dry_run,
                      rollback=not no_rollback, images=image, record=True, allow_bad=allow_bad,
                      host=host, prune=False if no_prune else None,
                      flags=_flags(kubeconfig))


@task(help={
    "from": "environment whose running images are promoted",
    "to": "environment that receives them",
    **{key: DEPLOY_HELP[key]
       for key in ("dry-run", "yes", "no-rollback", "allow-bad", "report", "host", "no-prune")},
    **KUBECONFIG_HELP,
})
def promote(c, from_, to, dry_run=False, yes=False, no_rollback=False, allow_bad=False,
            report=None, host=None, no_prune=False, kubeconfig=None):
    """Promote exactly what one environment runs now (digest-pinned) to another."""
    from .confirm import Confirmation
    from .promotion import chain
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        source, dest = promoter.settings.environment(from_), promoter.settings.environment(to)
        confirmation = Confirmation([dest], yes=yes, dry_run=dry_run)
        promoter.confirm = confirmation.ask_for
        chain.promote(promoter, source, dest, confirmation.check)

    with exits_on_error():
        run_promotion(c, "promote", body, report=report, dry_run=dry_run,
                      rollback=not no_rollback, record=True, allow_bad=allow_bad, host=host,
                      host_envs=[from_, to], prune=False if no_prune else None,
                      flags=_flags(kubeconfig))


@task(help={
    "env": "environment to roll back",
    "to-release": "ID: go back to the release of this history record (invoke history)",
    "to-revision": "N: roll back the workloads to revision N (kubectl rollout undo)",
    "only": "WORKLOAD: only this workload, to its revision before the latest promotion",
    "yes": DEPLOY_HELP["yes"],
    "dry-run": DEPLOY_HELP["dry-run"],
    "report": DEPLOY_HELP["report"],
    "host": DEPLOY_HELP["host"],
    **ENV_HELP,
})
def rollback(c, env, to_release=None, to_revision=None, only=None, yes=False, dry_run=False,
             report=None, host=None, context=None, namespace=None, timeout=None,
             kubeconfig=None):
    """Bring an environment back to the release it ran before its latest promotion.

    Every object as that history record keeps it: workloads through kubectl rollout undo to
    their recorded revisions, the rest re-applied, objects added since deleted; a plan
    first, then the confirmation. --to-release picks another record; --to-revision and
    --only roll back workloads alone (kubectl rollout undo). Exit codes: 0 rolled back,
    1 nothing to roll back or bad input, 4 the rollback failed, 130 interrupted.
    """
    from .confirm import Confirmation, confirm_changes
    from .promotion import multicluster
    from .session import run_promotion
    from .validation import check_revision, check_workload_name

    def body(promoter: Promoter) -> None:
        target_env = promoter.settings.environment(env)
        revision = check_revision(to_revision) if to_revision is not None else None
        workload = check_workload_name(only) if only is not None else None
        if to_release is not None and (revision is not None or workload is not None):
            raise ConfigError("--to-release rolls back every object: it goes without "
                              "--to-revision and --only")
        promoter.check_targets([target_env])
        if revision is None and workload is None:
            confirmation = Confirmation([target_env], yes=yes, dry_run=dry_run)
            confirmation.check()
            promoter.confirm = confirmation.ask_for  # asked after the plan
        else:
            confirm_changes([target_env], yes=yes, dry_run=dry_run)
        multicluster.rollback(promoter, target_env, to_revision=revision, only=workload,
                              to_release=to_release)

    with exits_on_error():
        run_promotion(c, "rollback", body, report=report, dry_run=dry_run, record=True,
                      host=host, host_envs=[env],
                      flags=_flags(kubeconfig, env, context, namespace, timeout))


@task(help={"env": "environment to compare with its overlay", "host": DEPLOY_HELP["host"],
            **WHERE_HELP})
def diff(c, env, host=None, context=None, namespace=None, kubeconfig=None):
    """Show what a promotion of ENV would change (kubectl diff), with the images it would
    receive, and what it would prune; differences are not an error."""
    from .promotion import preview
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        preview.diff(promoter, promoter.settings.environment(env), sys.stdout.write)

    with exits_on_error():
        run_promotion(c, "diff", body, host=host, host_envs=[env],
                      flags=_flags(kubeconfig, env, context, namespace))


@task(help={"offline": "check against the Kubernetes schemas only; no cluster is asked",
            **KUBECONFIG_HELP})
def validate(c, offline=False, kubeconfig=None):
    """Render every environment of globepay.order and check it as a promotion's preflight
    does: where it writes, its kube context, and a server-side dry run of every object on its
    cluster (--offline: the official Kubernetes schemas instead; needs the validate extra).
    Nothing is changed anywhere."""
    from .promotion.preflight import check_offline
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        envs = list(promoter.settings.chain())
        rendered = promoter.preflight(envs, targets=not offline)
        if offline:
            for env in envs:
                check_offline(promoter, env, rendered[env.name])

    with exits_on_error():
        run_promotion(c, "validate", body, flags=_flags(kubeconfig))


@task(help={"env": "environment whose lock to remove",
            "force": "also remove a lock its holder renewed within its TTL (a run that may "
                     "still be running); asks first",
            "yes": "answer yes to --force's question (needed without a terminal)",
            **WHERE_HELP})
def unlock(c, env, force=False, yes=False, context=None, namespace=None, kubeconfig=None):
    """Remove an environment's promotion lock by hand (a run that died holding it); a lock
    renewed within its TTL only with --force, after a question naming its holder."""
    from .confirm import confirm_unlock
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        target_env = promoter.settings.environment(env)
        promoter.check_targets([target_env])
        promoter.unlock(target_env, force=force, ask=None if yes else confirm_unlock)

    with exits_on_error():
        run_promotion(c, "unlock", body, host_envs=[env],
                      flags=_flags(kubeconfig, env, context, namespace))


@task(help={"env": "environment whose mark to remove",
            "image": "REF: the image marked bad (its reference, or one pinning its digest)",
            **WHERE_HELP})
def unmark(c, env, image, context=None, namespace=None, kubeconfig=None):
    """Make an image marked bad in ENV promotable again (a mark made in error, or a fixed
    image); the removal is a history record naming who made it (invoke history)."""
    from .promotion.unmark import unmark as remove_marks
    from .session import run_promotion

    def body(promoter: Promoter) -> None:
        target_env = promoter.settings.environment(env)
        promoter.check_targets([target_env])
        remove_marks(promoter, target_env, image)

    with exits_on_error():
        run_promotion(c, "unmark", body, record=True, host_envs=[env],
                      flags=_flags(kubeconfig, env, context, namespace))


@task(help={"env": "only this environment", "json": "print JSON instead of text",
            "host": DEPLOY_HELP["host"], **WHERE_HELP})
def status(c, env=None, json_=False, host=None, context=None, namespace=None,
           kubeconfig=None):
    """Each environment's workloads (image, ready/desired, revision, rollout: rolled out,
    progressing or failed, and why), last promotion, lock holder and the objects that differ
    from its overlay, then the drift between adjacent environments (a multi-cluster
    environment: per cluster)."""
    from . import status as status_module
    from .runner import Runner
    from .session import project_root, settings_of

    with exits_on_error():
        settings = settings_of(c)
        envs = [settings.environment(env)] if env else list(settings.chain())
        names = [item.name for item in envs]
        settings = settings.with_host(host, names).with_overrides(
            _flags(kubeconfig, env, context, namespace), names)
        parts = [part for item in envs for part in settings.environment(item.name).clusters()]
        runner = Runner(c)
        try:
            data = status_module.collect(runner, settings, parts, project_root(c))
        finally:
            runner.close()
        _print(data, json_, status_module.text_lines)
        if any("error" in info for info in data["environments"].values()):
            raise ClusterError("could not read every environment")


@task(help={"env": "environment whose history to show",
            "limit": "show at most this many records (default 20)",
            "json": "print JSON instead of text",
            "host": DEPLOY_HELP["host"], **WHERE_HELP})
def history(c, env, limit=None, json_=False, host=None, context=None, namespace=None,
            kubeconfig=None):
    """An environment's promotion records (newest first) and its known-bad images (of each
    cluster of a multi-cluster environment: a JSON list)."""
    from . import history as history_module
    from .runner import Runner
    from .session import settings_of
    from .validation import check_count

    with exits_on_error():
        settings = settings_of(c).with_host(host, [env]).with_overrides(
            _flags(kubeconfig, env, context, namespace), [env])
        target_env = settings.environment(env)
        runner = Runner(c)
        try:
            count = 20 if limit is None else check_count("--limit", limit)
            data = [history_module.collect(runner, settings.target(part), part, count)
                    for part in target_env.clusters()]
        finally:
            runner.close()
    lines = [line for item in data for line in history_module.text_lines(item)]
    print(json.dumps(data if target_env.targets else data[0], indent=2) if json_
          else "\n".join(lines))


def _print(data: Any, as_json: bool, text_lines: Callable[[Any], list[str]]) -> None:
    print(json.dumps(data, indent=2) if as_json else "\n".join(text_lines(data)))


# -- sandbox -------------------------------------------------------------------------------

SANDBOX_DIR = ".sandbox"


@task(help={
    "rollout-seconds": "SECONDS: simulated time a workload takes to roll out (default 5)",
    "time-scale": "N: run the simulated clock N times faster than real time (default 1)",
    "port": "PORT: port to listen on (default: a free one)",
})
def sandbox_up(c, rollout_seconds=5.0, time_scale=1.0, port=0):
    """Start the local sandbox in the background (.sandbox/): a cluster for each kube
    context the environments of globepay.order use (globepay-<env> where they name none)."""
    from . import local_sandbox
    from .session import project_root, settings_of

    with exits_on_error():
        lines = local_sandbox.start(project_root(c) / SANDBOX_DIR, settings_of(c),
                                    float(rollout_seconds), float(time_scale), int(port))
    print("\n".join([*lines, f"use it with: invoke -f {SANDBOX_DIR}/invoke.yaml deploy-all --yes"]))


@task
def sandbox_down(c):
    """Stop the local sandbox cluster started by sandbox.up."""
    from . import local_sandbox
    from .session import project_root

    with exits_on_error():
        local_sandbox.stop(project_root(c) / SANDBOX_DIR)
    print("sandbox stopped")


@task(help={"json": "print JSON instead of text"})
def sandbox_status(c, json_=False):
    """Whether the local sandbox runs: its pid, start time, URL and time scale, then each
    cluster (context, URL, the environments it serves)."""
    from . import local_sandbox
    from .session import project_root, settings_of

    with exits_on_error():
        data = local_sandbox.status(project_root(c) / SANDBOX_DIR, settings_of(c))
    _print(data, json_, local_sandbox.status_lines)


sandbox = Collection("sandbox")
sandbox.add_task(sandbox_up, name="up", default=False)
sandbox.add_task(sandbox_down, name="down")
sandbox.add_task(sandbox_status, name="status")

ns = Collection(deploy, deploy_dev, deploy_staging, deploy_prod, deploy_all, promote, rollback,
                diff, validate, status, history, unlock, unmark, sandbox)
excepthook.install()
ns.configure(defaults.DEFAULTS)
