"""Built-in checks for hooks: a health gate and HTTP smoke checks through the service proxy.

Both read the API server only, so they behave the same on a real cluster and on the sandbox.
Use them as ``{python: "globepay_tasks.checks:healthy"}`` and friends.
"""

from __future__ import annotations

from . import kinds, kubectl
from .hooks import CheckFailed, HookContext
from .settings import Environment


def check_health(context: HookContext, env: Environment) -> str:
    """Every workload of ``env`` (each of its clusters) available, read from the API; raises
    `CheckFailed`."""
    return "; ".join(_health(context, part) for part in env.clusters())


def _health(context: HookContext, env: Environment) -> str:
    target = context.target(env)
    result = context.runner.at(target).run(kubectl.get_workloads(target),
                                           idempotent=True)
    if not result.ok:
        raise CheckFailed(f"{env.name}: cannot read workloads: {result.error_line()}")
    objects = kubectl.parse_list(result.stdout)
    if not objects:
        raise CheckFailed(f"{env.name}: no workloads in namespace {env.namespace}")
    verdicts = [kinds.of(obj["kind"]).health(obj) for obj in objects]
    bad = [text for ok, text in verdicts if not ok]
    if bad:
        raise CheckFailed(f"{env.name} not healthy: {'; '.join(bad)}")
    return f"{env.name}: {len(verdicts)} workloads available"


def check_smoke(context: HookContext, env: Environment) -> str:
    """GET each configured service path through the API server's service proxy (in each of
    ``env``'s clusters)."""
    if not context.settings.smoke_checks:
        return "no smoke checks configured"
    return "; ".join(_smoke(context, part) for part in env.clusters())


def _smoke(context: HookContext, env: Environment) -> str:
    checks = context.settings.smoke_checks
    target = context.target(env)
    runner = context.runner.at(target)
    for check in checks:
        path = kubectl.service_proxy_path(env.namespace, check.service, check.port, check.path)
        result = runner.run(kubectl.get_raw(target, path))
        where = f"{env.name} {check.service}:{check.port}{check.path}"
        if not result.ok:
            raise CheckFailed(f"smoke {where} failed: {result.error_line()}")
        context.say(f"smoke {where} ok")
    return f"{env.name}: {len(checks)} smoke checks passed"


def healthy(context: HookContext) -> str:
    """Health gate for the environment being promoted."""
    return check_health(context, context.env)


def smoke(context: HookContext) -> str:
    """Smoke checks for the environment being promoted."""
    return check_smoke(context, context.env)


def previous_healthy(context: HookContext) -> str:
    """Health gate for the environment before this one in ``order`` (none: passes)."""
    if context.previous is None:
        return "no previous environment"
    return check_health(context, context.previous)


def previous_smoke(context: HookContext) -> str:
    """Smoke checks for the environment before this one in ``order`` (none: passes)."""
    if context.previous is None:
        return "no previous environment"
    return check_smoke(context, context.previous)
