"""The promotion chain and promotions between environments: an environment receives the
images the one before it ran when its post-promotion hooks passed, digest-pinned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import artifacts, images, manifests
from ..errors import ClusterError, ConfigError
from ..manifests import Rendered
from ..settings import Environment
from . import multicluster
from .result import EnvResult

if TYPE_CHECKING:
    from . import Promoter

Confirm = Callable[[], None]
#: The outcome of the environments after the one that stopped the chain.
NOT_REACHED = "skipped (not reached)"


def prepare(promoter: Promoter, envs: Sequence[Environment], *,
            carry: bool = False) -> dict[str, Rendered]:
    """Render every environment and refuse known-bad images before anything is touched:
    with ``carry``, those an environment after the first will receive from the one before it
    (as that one renders them), not its overlay's own tags, which it does not apply."""
    rendered = promoter.preflight(envs, carry=carry, read=True)
    received: dict[str, str] | None = None
    for env in envs:
        checked = rendered[env.name]
        if carry and received is not None:
            checked = manifests.with_images(checked, artifacts.applicable(
                received, manifests.rendered_images(checked), env.keep_images))
        for part in env.clusters():
            promoter.check_bad(part, checked, announce=False)
        received = artifacts.offered(artifacts.would_run(checked.objects))
    return rendered


def render_with(promoter: Promoter, env: Environment, rendered: Rendered, source: str,
                running: Sequence[artifacts.RunningImage], *, guessed: bool = False) -> Rendered:
    """``env`` as the preflight ``rendered`` it, with the images ``source`` runs (those of
    its images ``env`` does not keep as its own) set in its workloads. ``guessed``: a dry
    run's stand-in for what ``source`` would run."""
    offered = artifacts.offered(running)
    carried = artifacts.applicable(offered, manifests.rendered_images(rendered),
                                   env.keep_images)
    promoter.requested[env.name] = {**promoter.requested.get(env.name, {}), **carried}
    kept = sorted(name for name, ref in offered.items() if images.selected(env.keep_images, ref))
    text = ", ".join(f"{name}={ref}" for name, ref in carried.items()) or "none"
    if guessed:
        text += f" (dry run: as {source} would run them; digests are read at run time)"
    promoter.progress.step(env.name, f"images from {source}", text
                           + (f"; keeps its own {', '.join(kept)}" if kept else ""))
    return manifests.with_images(rendered, carried)


def running_in(promoter: Promoter, env: Environment, source: Environment, *,
               checked: bool = True) -> list[artifacts.RunningImage]:
    """What ``source`` runs now, for ``env`` to receive (read also in a dry run). ``checked``:
    a `ConfigError` when it runs no workloads or one of them is not healthy."""
    try:
        live = artifacts.read_live(promoter.runner.reader,
                                   promoter.target(source.clusters()[0]))
    except ClusterError as error:
        raise ClusterError(f"{env.name} receives the images {source.name} runs "
                           f"(promote_images), which cannot be read: {error.message}; nothing "
                           f"was changed") from None
    running = live.running()
    unhealthy = live.unhealthy() if checked else []
    if checked and (not running or unhealthy):
        problem = (f"is not healthy ({'; '.join(unhealthy)})" if running
                   else f"runs no workloads (namespace {source.namespace})")
        raise ConfigError(f"{env.name} receives the images {source.name} runs "
                          f"(promote_images), but {source.name} {problem}; nothing was "
                          f"changed: deploy {source.name} first, or pass --overlay-images "
                          f"to apply {env.name}'s overlay as it is")
    return running


def deploy_chain(promoter: Promoter, envs: Sequence[Environment], confirm: Confirm) -> None:
    """Preflight every environment, make sure the confirmations can be asked (``confirm``:
    each is asked when its environment's turn comes, after its plan: `Promoter.confirm`),
    then deploy each in order; with ``promote_images`` each one after the first receives
    what the one before it ran. The first failure stops the chain: the environments after it
    are results ``skipped (not reached)``."""
    carry = promoter.settings.promote_images
    rendered = prepare(promoter, envs, carry=carry)
    confirm()
    promoter.hold([(part, rendered[env.name]) for env in envs for part in env.clusters()])
    previous: EnvResult | None = None
    for index, env in enumerate(envs):
        try:
            if carry and previous is not None:
                received = render_with(promoter, env, rendered[env.name], previous.env,
                                       previous.running, guessed=promoter.runner.dry_run)
                previous = multicluster.deploy(promoter, env, received, action="promote",
                                               source=previous.env)
            else:
                previous = multicluster.deploy(promoter, env, rendered[env.name])
        except BaseException:
            promoter.results += [
                EnvResult(later.name, "promote" if carry else "deploy", later.namespace,
                          later.context or "", outcome=NOT_REACHED)
                for later in envs[index + 1:]]
            raise


def deploy_one(promoter: Promoter, env: Environment, confirm: Confirm, *,
               overlay_images: bool = False) -> EnvResult:
    """Deploy one environment as `deploy_chain` would: with ``promote_images``, one after the
    first of ``order`` receives the images the one before it runs now (`running_in`; this
    run's --image wins for the images it names). ``overlay_images``: its overlay's own
    instead, the plan marking each that differs from what the one before runs."""
    rendered = promoter.preflight([env], read=True)[env.name]
    confirm()
    source = promoter.settings.previous(env.name) if promoter.settings.promote_images else None
    options: dict[str, str] = {}
    if source is not None:
        running = running_in(promoter, env, source, checked=not overlay_images)
        if overlay_images:
            promoter.compared = (source.name, artifacts.offered(running))
            promoter.progress.step(env.name, "images", f"its overlay's own (--overlay-images); "
                                   f"the plan names each that {source.name} does not run")
        else:
            rendered = render_with(promoter, env, rendered, source.name, [
                item for item in running if not images.selected(promoter.images, item.image)])
            options = {"action": "promote", "source": source.name}
    for part in env.clusters():  # what it would run, not the overlay's tags it does not get
        promoter.check_bad(part, rendered, announce=False)
    if env.targets:  # every cluster's lock in turn before any: two runs cannot take half each
        promoter.hold([(part, rendered) for part in env.clusters()])
    return multicluster.deploy(promoter, env, rendered, **options)


def promote(promoter: Promoter, source: Environment, dest: Environment,
            confirm: Confirm) -> EnvResult:
    """Deploy ``dest`` with the images ``source`` runs now (hooks, verification and
    rollback as for a deploy)."""
    if source.name == dest.name:
        raise ConfigError(f"--from and --to both name {source.name}")
    running = artifacts.read_live(promoter.runner,
                                  promoter.target(source.clusters()[0])).running()
    if not running and not promoter.runner.dry_run:
        raise ConfigError(f"{source.name} runs no workloads to promote "
                          f"(namespace {source.namespace})")
    rendered = render_with(promoter, dest, promoter.render(dest, {}), source.name, running,
                           guessed=promoter.runner.dry_run)
    for part in dest.clusters():
        promoter.check_bad(part, rendered, announce=False)
    confirm()
    return multicluster.deploy(promoter, dest, rendered, action="promote", source=source.name)
