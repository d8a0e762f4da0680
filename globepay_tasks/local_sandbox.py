"""The local sandbox of a project: the clusters that serve its environments (`served`), the
configuration that points the tasks at them (`overlay`), starting and stopping it in the
background (`start`, `stop`), and what ``invoke sandbox.status`` shows (`status`,
`status_lines`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ClusterError, ConfigError
from .settings import Settings


@dataclass(frozen=True)
class ServedCluster:
    """One sandbox cluster: its name (the URL path ``/clusters/<name>``), its kube context
    and the (environment, namespace) pairs that deploy to it."""

    name: str
    context: str
    environments: tuple[tuple[str, str], ...]


def _cluster_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "cluster"


def default_context(env_name: str) -> str:
    """The context an environment configured without one gets: ``globepay-<env>``."""
    return f"globepay-{_cluster_name(env_name)}"


def served(settings: Settings) -> list[ServedCluster]:
    """One cluster per kube context the environments of ``globepay.order`` use: its own
    context, else `default_context`; each target of a multi-cluster environment its target's.
    Environments sharing a context share a cluster (each in its namespace)."""
    by_context: dict[str, list[tuple[str, str]]] = {}
    for env in settings.chain():
        for part in env.clusters():
            context = part.context or default_context(part.name)
            by_context.setdefault(context, []).append((part.name, part.namespace))
    clusters: list[ServedCluster] = []
    for context, envs in by_context.items():
        base = name = _cluster_name(envs[0][0])
        suffix = 1
        while name in {c.name for c in clusters}:
            suffix += 1
            name = f"{base}-{suffix}"
        clusters.append(ServedCluster(name, context, tuple(envs)))
    return clusters


def overlay(settings: Settings, kubeconfig: Path) -> dict[str, Any]:
    """The configuration file that points the tasks at the sandbox: its kubeconfig, the
    context of each environment that names none, no ``server`` to check against."""
    environments: dict[str, dict[str, Any]] = {}
    for env in settings.chain():
        entry: dict[str, Any] = {}
        if env.context is None and not env.targets:
            entry["context"] = default_context(env.name)
        if env.server is not None:
            entry["server"] = None
        if entry:
            environments[env.name] = entry
    return {"globepay": {"kubeconfig": str(kubeconfig), "environments": environments}}


def served_lines(clusters: list[ServedCluster]) -> list[str]:
    """``  qa: context globepay-qa, namespace globepay-qa`` per cluster."""
    return [f"  {c.name}: context {c.context}, "
            + ", ".join(f"{env} in namespace {ns}" for env, ns in c.environments)
            for c in clusters]


def status(state_dir: Path, settings: Settings) -> dict[str, Any]:
    """Whether the sandbox of ``state_dir`` runs; if it does, what it says of itself, each
    cluster with the environments of ``settings`` it serves, and those it does not serve."""
    from .sandbox import process

    found = process.status(state_dir)
    if not found.running:
        return {"running": False, "pid": found.pid, "message": found.message}
    try:
        info = process.describe(state_dir)
    except process.SandboxProcessError as error:
        raise ClusterError(f"{error} (pid {found.pid}; stop it with invoke sandbox.down)"
                           ) from None
    wanted = {c.context: c for c in served(settings)}
    contexts = info.get("contexts") or {}
    clusters = [{"name": name, "context": context, "url": f"{info['url']}/clusters/{name}",
                 "environments": [{"name": env, "namespace": ns} for env, ns in
                                  (wanted[context].environments if context in wanted else ())]}
                for name in info["clusters"] if (context := contexts.get(name, ""))]
    return {
        "running": True,
        "pid": info.get("pid", found.pid),
        "started": info.get("started") or None,
        "url": info["url"],
        "kubeconfig": str(found.kubeconfig),
        "time_scale": info.get("timeScale"),
        "rollout_seconds": info.get("rolloutSeconds"),
        "clusters": clusters,
        "not_served": [{"name": env, "context": c.context} for c in wanted.values()
                       if c.context not in contexts.values() for env, _ in c.environments],
    }


def status_lines(data: dict[str, Any]) -> list[str]:
    """The status as text: a line for the sandbox, one per cluster, one per environment of
    the configuration that no cluster serves."""
    if not data["running"]:
        return [data["message"]]
    lines = [f"sandbox running: pid {data['pid']}, up since {data['started'] or 'unknown'}, "
             f"{data['url']}, time scale {data['time_scale']:g}x, rollouts "
             f"{data['rollout_seconds']:g}s, kubeconfig {data['kubeconfig']}"]
    for cluster in data["clusters"]:
        envs = ", ".join(f"{e['name']} in namespace {e['namespace']}"
                         for e in cluster["environments"]) or "no environment of this project"
        lines.append(f"  {cluster['name']}: context {cluster['context']}, {cluster['url']}, "
                     f"{envs}")
    for env in data["not_served"]:
        lines.append(f"  not served: {env['name']} (context {env['context']}); restart it: "
                     f"invoke sandbox.down sandbox.up")
    return lines


def start(state: Path, settings: Settings, rollout_seconds: float, time_scale: float,
          port: int) -> list[str]:
    """Start the sandbox in the background (state in ``state``) for the clusters `served`,
    and write ``state/invoke.yaml`` pointing the tasks at it; the lines to show."""
    import yaml

    from .sandbox import process

    clusters = served(settings)
    try:
        pid, kubeconfig = process.start_background(
            state, clusters=[item.name for item in clusters],
            contexts={item.name: item.context for item in clusters},
            rollout_seconds=rollout_seconds, time_scale=time_scale, port=port)
    except RuntimeError as error:
        raise ConfigError(str(error)) from None
    (state / "invoke.yaml").write_text(
        yaml.safe_dump(overlay(settings, kubeconfig), sort_keys=False))
    return [f"sandbox running (pid {pid}); kubeconfig {kubeconfig}", *served_lines(clusters)]


def stop(state: Path) -> None:
    """Stop the sandbox `start` started (`ConfigError`: none runs)."""
    from .sandbox import process

    try:
        process.stop_background(state)
    except RuntimeError as error:
        raise ConfigError(str(error)) from None
