"""The ``globepay`` configuration subtree: its validation into `Settings`.

Its defaults are in `globepay_tasks.defaults`, the settings objects in
`globepay_tasks.settings`; hooks are parsed by `globepay_tasks.config_hooks` and single values
checked by `globepay_tasks.config_values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .config_hooks import parse_hooks
from .config_values import (
    check_name,
    parse_bool,
    parse_count,
    parse_image_names,
    parse_path,
    parse_seconds,
    reject_unknown_keys,
)
from .defaults import DEFAULTS, env_defaults
from .errors import ConfigError
from .hosts import Address, SshOptions, parse_address
from .retry import RetryPolicy
from .settings import ClusterTarget, Environment, LockSettings, Settings, SmokeCheck

TOP_KEYS = {
    "kubectl", "kubeconfig", "ssh", "order", "lock", "retries", "allow_cluster_scoped",
    "smoke_checks", "environments", "promote_images", "history_limit",
    "prune", "request_timeout",
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


def to_plain(value: Any) -> Any:
    """Invoke's DataProxy trees as plain dicts and lists."""
    if isinstance(value, Mapping) or hasattr(value, "_config"):
        return {key: to_plain(value[key]) for key in value}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value


def _environment(name: str, raw: Any) -> Environment:
    where = f"globepay.environments.{name}"
    check_name("environment name", name)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    reject_unknown_keys(where, raw, ENV_KEYS)
    merged = {**env_defaults(name), **{k: v for k, v in raw.items()}}
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
        timeout=parse_seconds(f"{where}.timeout", merged["timeout"]),
        confirm=parse_bool(f"{where}.confirm", merged["confirm"]),
        pre_promotion=parse_hooks(f"{where}.pre_promotion", merged["pre_promotion"]),
        post_promotion=parse_hooks(f"{where}.post_promotion", merged["post_promotion"]),
        keep_images=parse_image_names(f"{where}.keep_images", merged["keep_images"]),
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
        reject_unknown_keys(at, item, TARGET_KEYS)
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


def _ssh(raw: Any) -> SshOptions:
    """``globepay.ssh``: known_hosts, accept_unknown_hosts, identity_file, connect_timeout."""
    if raw is None:
        return SshOptions()
    if not isinstance(raw, Mapping):
        raise ConfigError("globepay.ssh must be a mapping")
    reject_unknown_keys("globepay.ssh", raw, SSH_KEYS)
    timeout = raw.get("connect_timeout")
    return SshOptions(
        known_hosts=parse_path("globepay.ssh.known_hosts", raw.get("known_hosts")),
        accept_unknown_hosts=parse_bool("globepay.ssh.accept_unknown_hosts",
                                   raw.get("accept_unknown_hosts", False)),
        identity_file=parse_path("globepay.ssh.identity_file", raw.get("identity_file")),
        connect_timeout=(SshOptions.connect_timeout if timeout is None
                         else parse_seconds("globepay.ssh.connect_timeout", timeout)),
    )


def _section(where: str, raw: Any, allowed: set[str], default: Mapping) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    reject_unknown_keys(where, raw, allowed)
    return {**default, **raw}


def _lock(raw: Any) -> LockSettings:
    merged = _section("globepay.lock", raw, LOCK_KEYS, DEFAULTS["globepay"]["lock"])
    name = check_name("globepay.lock.name", merged["name"])
    margin = merged["ttl_margin"]
    return LockSettings(
        enabled=parse_bool("globepay.lock.enabled", merged["enabled"]),
        name=name,
        ttl_margin=0.0 if margin in (0, "0") else parse_seconds("globepay.lock.ttl_margin", margin),
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
        backoff=0.0 if backoff in (0, "0") else parse_seconds("globepay.retries.backoff", backoff),
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
    reject_unknown_keys("globepay", tree, TOP_KEYS)
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
        reject_unknown_keys(where, item, SMOKE_KEYS)
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
        promote_images=parse_bool("globepay.promote_images", tree.get("promote_images", True)),
        history_limit=parse_count("globepay.history_limit", tree.get("history_limit", 50)),
        prune=parse_bool("globepay.prune", tree.get("prune", True)),
        ssh=_ssh(tree.get("ssh")),
        lock=_lock(tree.get("lock")),
        retries=_retries(tree.get("retries")),
        request_timeout=parse_seconds("globepay.request_timeout",
                                      tree.get("request_timeout", 30)),
        allow_cluster_scoped=_kinds(tree.get("allow_cluster_scoped")),
    )
