"""``invoke diff``: what a promotion of one environment would apply, as ``kubectl diff``
shows it (with the images the environment would receive from the one before it, without the
noise every apply makes), and the objects it would prune."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import artifacts, diffnoise, workloads
from ..errors import ConfigError
from ..settings import Environment
from ..snapshot import read_snapshot
from .chain import render_with
from .plan import predict_prunes

if TYPE_CHECKING:
    from ..manifests import Rendered
    from . import Promoter


def received(p: Promoter, env: Environment) -> Rendered:
    """``env`` rendered as a promotion would apply it: with ``promote_images``, an
    environment after the first of ``order`` gets the images the one before it runs now."""
    rendered = p.render(env)
    order = list(p.settings.order)
    if not p.settings.promote_images or env.name not in order or order.index(env.name) == 0:
        return rendered
    source = p.settings.environment(order[order.index(env.name) - 1])
    running = artifacts.read_live(p.runner.reader, p.target(source.clusters()[0])).running()
    return render_with(p, env, rendered, source.name, running) if running else rendered


def diff(p: Promoter, env: Environment, write: Callable[[str], None]) -> bool:
    """Write each of ``env``'s clusters' differences through ``write``; whether there are
    any."""
    rendered = received(p, env)
    p.check_targets([env])
    found = False
    for part in env.clusters():
        target = p.target(part)
        result = workloads.diff(p.runner, target, rendered)
        if result.exit_code > 1:  # kubectl diff: 0 no differences, 1 differences
            raise ConfigError(f"{part.name}: kubectl diff failed: {result.error_line()}")
        text = diffnoise.without_noise(result.stdout)
        known = read_snapshot(p.runner.reader, target, rendered)
        prunes = predict_prunes(rendered, known, part.namespace, p.prune)
        text += "".join(f"prune {item.describe()}\n" for item in prunes)
        write(text)
        found = found or bool(text)
        p.progress.step(part.name, "diff", "differences shown above" if text
                        else "no differences")
    return found
