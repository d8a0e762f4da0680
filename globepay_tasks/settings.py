"""The validated ``globepay`` configuration: frozen `Settings`, its `Environment`s and their
hooks, cluster targets, lock and smoke checks (`globepay_tasks.config` builds them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config_values import check_name, parse_seconds
from .errors import ConfigError
from .hosts import Address, Remote, SshOptions, parse_address
from .kubectl import Target
from .retry import RetryPolicy


@dataclass(frozen=True)
class Hook:
    """One pre- or post-promotion hook.

    ``kind`` is ``shell`` (a command string run through the shell), ``exec`` (an argument
    list run without one), ``http`` (a GET expecting ``expect``) or ``python``
    (``module:function`` called with a `globepay_tasks.hooks.HookContext`). A ``remote``
    command runs on the environment's host; every other hook runs locally.
    """

    kind: str
    target: str | tuple[str, ...]
    timeout: float | None = None
    expect: int = 200
    retries: int = 0
    name: str = ""
    remote: bool = False

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if isinstance(self.target, tuple):
            return " ".join(self.target)
        return self.target


@dataclass(frozen=True)
class SmokeCheck:
    service: str
    port: str
    path: str


@dataclass(frozen=True)
class ClusterTarget:
    """One cluster of a multi-cluster environment (host and gateway default to the env's)."""

    name: str
    context: str
    host: Address | None = None
    gateway: Address | None = None


@dataclass(frozen=True)
class LockSettings:
    """The per-environment promotion lock: a Lease called ``name`` in the env's namespace,
    considered stale ``ttl_margin`` seconds after the env's timeout."""

    enabled: bool = True
    name: str = "globepay-promotion"
    ttl_margin: float = 120.0


@dataclass(frozen=True)
class Environment:
    name: str
    overlay: str
    namespace: str
    context: str | None
    timeout: float
    confirm: bool
    pre_promotion: tuple[Hook, ...] = ()
    post_promotion: tuple[Hook, ...] = ()
    keep_images: tuple[str, ...] = ()
    host: Address | None = None
    gateway: Address | None = None
    targets: tuple[ClusterTarget, ...] = ()
    server: str | None = None
    #: ``namespace`` comes from --namespace: the overlay is rendered into it
    override_namespace: bool = False

    def clusters(self) -> tuple[Environment, ...]:
        """One environment per target, named ``env/target``, with the target's context and
        host (itself when it has no targets). Pre-promotion hooks stay with the whole env."""
        if not self.targets:
            return (self,)
        return tuple(
            replace(self, name=f"{self.name}/{t.name}", context=t.context,
                    host=t.host or self.host, gateway=t.gateway or self.gateway,
                    targets=(), pre_promotion=())
            for t in self.targets
        )


@dataclass(frozen=True)
class Overrides:
    """A task's flags that win over the configuration for one run (None: the configured
    value): ``kubeconfig`` for every call; ``context``, ``namespace`` and ``timeout`` for the
    environment ``env``."""

    kubeconfig: str | None = None
    env: str | None = None
    context: str | None = None
    namespace: str | None = None
    timeout: str | None = None


@dataclass(frozen=True)
class Settings:
    kubectl: str
    kubeconfig: str | None
    order: tuple[str, ...]
    environments: Mapping[str, Environment]
    smoke_checks: tuple[SmokeCheck, ...] = field(default=())
    promote_images: bool = True
    history_limit: int = 50
    #: delete what an earlier promotion applied and the overlay no longer renders
    prune: bool = True
    ssh: SshOptions = SshOptions()
    lock: LockSettings = field(default_factory=LockSettings)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    allow_cluster_scoped: tuple[str, ...] = ()
    #: seconds each kubectl request may wait for the API server's answer
    request_timeout: float = 30.0

    def target(self, env: Environment) -> Target:
        """Where kubectl talks for ``env``: binary, kubeconfig, context, namespace, host."""
        remote = Remote(env.host, env.gateway, self.ssh) if env.host else None
        return Target(self.kubectl, env.namespace, env.context, self.kubeconfig, remote,
                      self.request_timeout)

    def with_host(self, host: str | None, names: Iterable[str]) -> Settings:
        """These settings with ``host`` (``--host``) as the host of the named environments."""
        if host is None:
            return self
        address = parse_address("--host", host)
        environments = dict(self.environments)
        for name in names:
            env = self.environment(name)
            targets = tuple(replace(t, host=None) for t in env.targets)
            environments[name] = replace(env, host=address, targets=targets)
        return replace(self, environments=environments)

    def with_overrides(self, flags: Overrides, names: Iterable[str]) -> Settings:
        """These settings with ``flags`` applied. A ``--kubeconfig`` must be a file here when
        one of the named environments runs here (for a host it is a path on that host)."""
        settings = self
        if flags.kubeconfig is not None:
            local = any(not part.host for name in names
                        for part in self.environment(name).clusters())
            if not flags.kubeconfig or (local and not Path(flags.kubeconfig).is_file()):
                raise ConfigError(f"--kubeconfig {flags.kubeconfig!r}: no such file")
            settings = replace(settings, kubeconfig=flags.kubeconfig)
        changes: dict = {}
        if flags.context is not None:
            changes["context"] = flags.context
        if flags.namespace is not None:
            changes.update(namespace=check_name("--namespace", flags.namespace),
                           override_namespace=True)
        if flags.timeout is not None:
            changes["timeout"] = parse_seconds("--timeout", flags.timeout)
        if not changes:
            return settings
        if flags.env is None:
            raise ConfigError(f"--{next(iter(changes))} sets one environment's: give --env too")
        env = self.environment(flags.env)
        if flags.context is not None and (env.targets or not flags.context):
            raise ConfigError(f"--context: {env.name} has several clusters (targets)"
                              if env.targets else "--context must name a kube context")
        environments = {**settings.environments, env.name: replace(env, **changes)}
        return replace(settings, environments=environments)

    def environment(self, name: str) -> Environment:
        """The environment called ``name``; a `ConfigError` naming the known ones otherwise."""
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(f"unknown environment {name!r} (configured: {known})")
        return self.environments[name]

    def chain(self) -> tuple[Environment, ...]:
        """The environments of ``order``, in order."""
        return tuple(self.environments[name] for name in self.order)

    def previous(self, name: str) -> Environment | None:
        """The environment before ``name`` in ``order`` (None for the first or one not in it)."""
        if name not in self.order:
            return None
        index = self.order.index(name)
        return self.environments[self.order[index - 1]] if index else None
