"""The promotion chain and promotions between environments: an environment receives the
images the one before it ran when its post-promotion hooks passed, digest-pinned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import artifacts, images, manifests
from ..errors import ConfigError
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
    """Render every environment and refuse known-bad images before anything is touched."""
    rendered = promoter.preflight(envs, carry=carry, read=True)
    for env in envs:
        for part in env.clusters():
            promoter.check_bad(part, rendered[env.name], announce=False)
    return rendered


def render_with(promoter: Promoter, env: Environment, rendered: Rendered, source: str,
                running: Sequence[artifacts.RunningImage]) -> Rendered:
    """``env`` as the preflight ``rendered`` it, with the images ``source`` runs (those of
    its images ``env`` does not keep as its own) set in its workloads."""
    offered = artifacts.offered(running)
    carried = artifacts.applicable(offered, manifests.rendered_images(rendered),
                                   env.keep_images)
    promoter.requested[env.name] = carried
    kept = sorted(name for name, ref in offered.items() if images.selected(env.keep_images, ref))
    text = ", ".join(f"{name}={ref}" for name, ref in carried.items()) or "none"
    if promoter.runner.dry_run:
        text += f" (dry run: as {source} would run them; digests are read at run time)"
    promoter.progress.step(env.name, f"images from {source}", text
                           + (f"; keeps its own {', '.join(kept)}" if kept else ""))
    return manifests.with_images(rendered, carried)


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
                                       previous.running)
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
    rendered = render_with(promoter, dest, promoter.render(dest, {}), source.name, running)
    for part in dest.clusters():
        promoter.check_bad(part, rendered, announce=False)
    confirm()
    return multicluster.deploy(promoter, dest, rendered, action="promote", source=source.name)
