"""The ``globepay`` configuration subtree: defaults, validation and frozen settings objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ConfigError
from .hosts import Address, Remote, SshOptions, parse_address
from .kubectl import Target
from .retry import RetryPolicy

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

HEALTH_GATE = {"python": "globepay_tasks.checks:healthy"}
SMOKE_CHECKS = {"python": "globepay_tasks.checks:smoke"}
PREVIOUS_HEALTH_GATE = {"python": "globepay_tasks.checks:previous_healthy"}
PREVIOUS_SMOKE_CHECKS = {"python": "globepay_tasks.checks:previous_smoke"}


def _env_defaults(name: str, *, confirm: bool = False, test_previous: bool = False) -> dict:
    pre = [PREVIOUS_HEALTH_GATE, PREVIOUS_SMOKE_CHECKS] if test_previous else []
    return {
        "overlay": f"k8s/overlays/{name}",
        "namespace": f"globepay-{name}",
        "context": None,
        "host": None,
        "gateway": None,
        "targets": [],
        "server": None,
        "timeout": 300,
        "confirm": confirm,
        "pre_promotion": pre,
        "post_promotion": [HEALTH_GATE, SMOKE_CHECKS],
        "keep_images": [],
    }


#: Library defaults, installed with ``Collection.configure``; invoke.yaml and env vars override.
DEFAULTS: dict[str, Any] = {
    "globepay": {
        "kubectl": "kubectl",
        "kubeconfig": None,
        "ssh": {
            "known_hosts": None,
            "accept_unknown_hosts": False,
            "identity_file": None,
            "connect_timeout": 10,
        },
        "order": ["dev", "staging", "prod"],
        "promote_images": True,
        "history_limit": 50,
        "lock": {"enabled": True, "name": "globepay-promotion", "ttl_margin": 120},
        "retries": {"attempts": 3, "backoff": 0.5},
        "allow_cluster_scoped": [],
        "smoke_checks": [
            {"service": "backend", "port": "http", "path": "/health/ready"},
            {"service": "frontend", "port": "http", "path": "/"},
        ],
        "environments": {
            "dev": _env_defaults("dev"),
            "staging": _env_defaults("staging", test_previous=True),
            "prod": _env_defaults("prod", confirm=True, test_previous=True),
        },
    }
}

TOP_KEYS = {
    "kubectl", "kubeconfig", "ssh", "order", "lock", "retries", "allow_cluster_scoped",
    "smoke_checks", "environments", "promote_images", "history_limit",
}
ENV_KEYS = {
    "overlay", "namespace", "context", "server", "host", "gateway", "targets", "timeout",
    "confirm", "pre_promotion", "post_promotion", "keep_images",
}
TARGET_KEYS = {"name", "context", "host", "gateway"}
SSH_KEYS = {"known_hosts", "accept_unknown_hosts", "identity_file", "connect_timeout"}
LOCK_KEYS = {"enabled", "name", "ttl_margin"}
RETRY_KEYS = {"attempts", "backoff"}
SMOKE_KEYS = {"service", "port", "path"}
HOOK_KEYS = {
    "run": {"run", "timeout", "name", "remote"},
    "http": {"http", "expect", "timeout", "retries", "name"},
    "python": {"python", "timeout", "name"},
}


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
class Settings:
    kubectl: str
    kubeconfig: str | None
    order: tuple[str, ...]
    environments: Mapping[str, Environment]
    smoke_checks: tuple[SmokeCheck, ...] = field(default=())
    promote_images: bool = True
    history_limit: int = 50
    ssh: SshOptions = SshOptions()
    lock: LockSettings = field(default_factory=LockSettings)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    allow_cluster_scoped: tuple[str, ...] = ()

    def target(self, env: Environment) -> Target:
        """Where kubectl talks for ``env``: binary, kubeconfig, context, namespace, host."""
        remote = Remote(env.host, env.gateway, self.ssh) if env.host else None
        return Target(self.kubectl, env.namespace, env.context, self.kubeconfig, remote)

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


def to_plain(value: Any) -> Any:
    """Invoke's DataProxy trees as plain dicts and lists."""
    if isinstance(value, Mapping) or hasattr(value, "_config"):
        return {key: to_plain(value[key]) for key in value}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value


def _unknown(where: str, given: Mapping, allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ConfigError(
            f"unknown configuration key {where}.{extra[0]} (allowed: {', '.join(sorted(allowed))})"
        )


def _number(where: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where} must be a number of seconds, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{where} must be a number of seconds, not {value!r}") from None
    if number <= minimum:
        raise ConfigError(f"{where} must be greater than {minimum:g}, not {value!r}")
    return number


def _bool(where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def parse_hook(where: str, raw: Any) -> Hook:
    """One hook from its configuration form (string, argument list or mapping)."""
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigError(f"{where} is an empty command")
        return Hook("shell", raw)
    if isinstance(raw, list):
        if not raw or not all(isinstance(arg, str) and arg for arg in raw):
            raise ConfigError(f"{where} must be a non-empty list of strings")
        return Hook("exec", tuple(raw))
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a command string, a list or a mapping, not {raw!r}")
    kinds = [kind for kind in HOOK_KEYS if kind in raw]
    if len(kinds) != 1:
        raise ConfigError(
            f"{where} has unknown hook type (give exactly one of: run, http, python; got "
            f"{', '.join(sorted(raw)) or 'nothing'})"
        )
    kind = kinds[0]
    _unknown(where, raw, HOOK_KEYS[kind])
    timeout = _number(f"{where}.timeout", raw["timeout"]) if raw.get("timeout") else None
    name = str(raw.get("name") or "")
    if kind == "run":
        inner = parse_hook(f"{where}.run", raw["run"])
        remote = _bool(f"{where}.remote", raw.get("remote", False))
        return Hook(inner.kind, inner.target, timeout=timeout, name=name, remote=remote)
    if kind == "http":
        url = raw["http"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.http must be an http:// or https:// URL, not {url!r}")
        expect = int(raw.get("expect", 200))
        retries = int(raw.get("retries", 0))
        if retries < 0:
            raise ConfigError(f"{where}.retries must be 0 or more")
        return Hook("http", url, timeout=timeout, expect=expect, retries=retries, name=name)
    target = raw["python"]
    if not isinstance(target, str) or not re.fullmatch(r"[\w.]+:[\w.]+", target):
        raise ConfigError(f"{where}.python must be 'module:function', not {target!r}")
    return Hook("python", target, timeout=timeout, name=name)


def _hooks(where: str, raw: Any) -> tuple[Hook, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of hooks")
    return tuple(parse_hook(f"{where}[{index}]", item) for index, item in enumerate(raw))


def _names(where: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise ConfigError(f"{where} must be a list of image names")
    return tuple(raw)


def _count(where: str, value: Any) -> int:
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise ConfigError(f"{where} must be a whole number of 1 or more, not {value!r}")
    return int(value)


def check_name(what: str, value: str) -> str:
    """``value`` if it is a DNS-1123 label; a `ConfigError` naming ``what`` otherwise."""
    if not isinstance(value, str) or not DNS_LABEL.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a valid name (lowercase letters, digits and '-', "
            "at most 63 characters)"
        )
    return value


def _environment(name: str, raw: Any) -> Environment:
    where = f"globepay.environments.{name}"
    check_name("environment name", name)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    _unknown(where, raw, ENV_KEYS)
    merged = {**_env_defaults(name), **{k: v for k, v in raw.items()}}
    overlay = merged["overlay"]
    if not isinstance(overlay, str) or not overlay:
        raise ConfigError(f"{where}.overlay must be a path")
    namespace = check_name(f"{where}.namespace", merged["namespace"])
    context = merged["context"]
    if context is not None and (not isinstance(context, str) or not context):
        raise ConfigError(f"{where}.context must be a kube context name or null")
    host = _address(f"{where}.host", merged["host"])
    gateway = _address(f"{where}.gateway", merged["gateway"])
    if gateway and not host:
        raise ConfigError(f"{where}.gateway is set but {where}.host is not")
    targets = _targets(where, merged["targets"], host)
    if targets and context:
        raise ConfigError(f"{where}: give each target its context instead of {where}.context")
    server = merged["server"]
    if server is not None and (not isinstance(server, str)
                               or not server.startswith(("http://", "https://"))):
        raise ConfigError(f"{where}.server must be an http(s):// API server URL or null")
    return Environment(
        name=name,
        overlay=overlay,
        namespace=namespace,
        context=context,
        timeout=_number(f"{where}.timeout", merged["timeout"]),
        confirm=_bool(f"{where}.confirm", merged["confirm"]),
        pre_promotion=_hooks(f"{where}.pre_promotion", merged["pre_promotion"]),
        post_promotion=_hooks(f"{where}.post_promotion", merged["post_promotion"]),
        keep_images=_names(f"{where}.keep_images", merged["keep_images"]),
        host=host,
        gateway=gateway,
        targets=targets,
        server=server,
    )


def _targets(where: str, raw: Any, env_host: Address | None) -> tuple[ClusterTarget, ...]:
    """``targets``: a list of ``{context, name?, host?, gateway?}``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.targets must be a list of {{context, name, host, gateway}}")
    targets = []
    for index, item in enumerate(raw):
        at = f"{where}.targets[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{at} must be a mapping with a context")
        _unknown(at, item, TARGET_KEYS)
        context = item.get("context")
        if not isinstance(context, str) or not context:
            raise ConfigError(f"{at}.context must be a kube context name")
        name = item.get("name") or context
        if not isinstance(name, str) or not re.fullmatch(r"[\w.:@-]+", name):
            raise ConfigError(f"{at}.name must be a word (letters, digits, . _ - : @; it "
                              f"defaults to the context), not {name!r}")
        host = _address(f"{at}.host", item.get("host"))
        gateway = _address(f"{at}.gateway", item.get("gateway"))
        if gateway and not (host or env_host):
            raise ConfigError(f"{at}.gateway is set but neither {at}.host nor {where}.host is")
        targets.append(ClusterTarget(name, context, host, gateway))
    names = [t.name for t in targets]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}.targets names {name!r} twice (give each a name)")
    return tuple(targets)


def _address(where: str, value: Any) -> Address | None:
    return None if value is None else parse_address(where, value)


def _path(where: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where} must be a path or null")
    return value


def _ssh(raw: Any) -> SshOptions:
    """``globepay.ssh``: known_hosts, accept_unknown_hosts, identity_file, connect_timeout."""
    if raw is None:
        return SshOptions()
    if not isinstance(raw, Mapping):
        raise ConfigError("globepay.ssh must be a mapping")
    _unknown("globepay.ssh", raw, SSH_KEYS)
    timeout = raw.get("connect_timeout")
    return SshOptions(
        known_hosts=_path("globepay.ssh.known_hosts", raw.get("known_hosts")),
        accept_unknown_hosts=_bool("globepay.ssh.accept_unknown_hosts",
                                   raw.get("accept_unknown_hosts", False)),
        identity_file=_path("globepay.ssh.identity_file", raw.get("identity_file")),
        connect_timeout=(SshOptions.connect_timeout if timeout is None
                         else _number("globepay.ssh.connect_timeout", timeout)),
    )


def _section(where: str, raw: Any, allowed: set[str], default: Mapping) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    _unknown(where, raw, allowed)
    return {**default, **raw}


def _lock(raw: Any) -> LockSettings:
    merged = _section("globepay.lock", raw, LOCK_KEYS, DEFAULTS["globepay"]["lock"])
    name = check_name("globepay.lock.name", merged["name"])
    margin = merged["ttl_margin"]
    return LockSettings(
        enabled=_bool("globepay.lock.enabled", merged["enabled"]),
        name=name,
        ttl_margin=0.0 if margin in (0, "0") else _number("globepay.lock.ttl_margin", margin),
    )


def _retries(raw: Any) -> RetryPolicy:
    merged = _section("globepay.retries", raw, RETRY_KEYS, DEFAULTS["globepay"]["retries"])
    attempts = merged["attempts"]
    if isinstance(attempts, bool) or not str(attempts).isdigit() or int(attempts) < 1:
        raise ConfigError(f"globepay.retries.attempts must be a whole number of 1 or more, "
                          f"not {attempts!r}")
    backoff = merged["backoff"]
    return RetryPolicy(
        attempts=int(attempts),
        backoff=0.0 if backoff in (0, "0") else _number("globepay.retries.backoff", backoff),
    )


def _kinds(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
            isinstance(kind, str) and re.fullmatch(r"[A-Z][A-Za-z0-9]*", kind) for kind in raw):
        raise ConfigError("globepay.allow_cluster_scoped must be a list of kinds, e.g. "
                          "[ClusterRole]")
    return tuple(raw)


def load_settings(raw: Any) -> Settings:
    """Validate the ``globepay`` subtree (a mapping or Invoke DataProxy) into `Settings`."""
    tree = to_plain(raw) if raw is not None else {}
    if not isinstance(tree, Mapping):
        raise ConfigError("globepay configuration must be a mapping")
    _unknown("globepay", tree, TOP_KEYS)
    kubectl = tree.get("kubectl") or "kubectl"
    if not isinstance(kubectl, str):
        raise ConfigError("globepay.kubectl must be a program name or path")
    kubeconfig = tree.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        raise ConfigError("globepay.kubeconfig must be a path or null")
    environments_raw = tree.get("environments") or {}
    if not isinstance(environments_raw, Mapping):
        raise ConfigError("globepay.environments must be a mapping of environment names")
    environments = {name: _environment(name, env) for name, env in environments_raw.items()}
    order_raw = tree.get("order")
    if isinstance(order_raw, str):
        order_raw = [part.strip() for part in order_raw.split(",") if part.strip()]
    if not isinstance(order_raw, list) or not order_raw:
        raise ConfigError("globepay.order must be a non-empty list of environment names")
    for name in order_raw:
        if name not in environments:
            raise ConfigError(
                f"globepay.order names {name!r}, which is not under globepay.environments"
            )
    if len(set(order_raw)) != len(order_raw):
        raise ConfigError("globepay.order names an environment twice")
    smoke = []
    for index, item in enumerate(tree.get("smoke_checks") or []):
        where = f"globepay.smoke_checks[{index}]"
        if not isinstance(item, Mapping) or not {"service", "port"} <= set(item):
            raise ConfigError(f"{where} needs service and port")
        _unknown(where, item, SMOKE_KEYS)
        path = str(item.get("path") or "/")
        smoke.append(SmokeCheck(
            check_name(f"{where}.service", item["service"]),
            str(item["port"]),
            path if path.startswith("/") else "/" + path,
        ))
    return Settings(
        kubectl=kubectl,
        kubeconfig=kubeconfig,
        order=tuple(order_raw),
        environments=environments,
        smoke_checks=tuple(smoke),
        promote_images=_bool("globepay.promote_images", tree.get("promote_images", True)),
        history_limit=_count("globepay.history_limit", tree.get("history_limit", 50)),
        ssh=_ssh(tree.get("ssh")),
        lock=_lock(tree.get("lock")),
        retries=_retries(tree.get("retries")),
        allow_cluster_scoped=_kinds(tree.get("allow_cluster_scoped")),
    )
