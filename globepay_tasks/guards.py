"""Target guards: refuse to run against the wrong cluster or outside an environment's namespace.

Everything here is checked before the first write: the kube context exists, the API server is
the configured one, the rendered objects stay in the environment's namespace, and an environment
gated on its predecessor has one. The kubeconfig is read through ``kubectl config view`` (which
leaves credentials out) and its contents are never printed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from contextlib import suppress
from urllib.parse import urlsplit

from . import kubectl
from .errors import ConfigError
from .kubectl import Target
from .runner import Runner
from .settings import Environment, Settings

#: Built-in kinds that live outside any namespace (an overlay may render only its Namespace and
#: the kinds listed in ``globepay.allow_cluster_scoped``).
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode",
    "VolumeAttachment", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "APIService", "PriorityClass", "IngressClass", "RuntimeClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
})


def is_cluster_scoped(obj: dict) -> bool:
    """A rendered object outside any namespace: a cluster-scoped kind, or no namespace."""
    return obj.get("kind") in CLUSTER_SCOPED_KINDS or not (obj.get("metadata") or {}).get(
        "namespace")

#: Built-in checks that gate an environment on the one before it in ``order``.
PREVIOUS_CHECKS = ("globepay_tasks.checks:previous_healthy", "globepay_tasks.checks:previous_smoke")


def check_cluster_scoped(env: Environment, objects: tuple[dict, ...],
                         allowed: tuple[str, ...]) -> None:
    """Refuse cluster-scoped objects other than the env's Namespace and the allowed kinds."""
    for obj in objects:
        kind = obj.get("kind", "?")
        if kind in CLUSTER_SCOPED_KINDS and kind != "Namespace" and kind not in allowed:
            name = (obj.get("metadata") or {}).get("name")
            raise ConfigError(
                f"{env.name}: overlay {env.overlay} renders cluster-scoped {kind}/{name}, which "
                f"would reach beyond namespace {env.namespace}; nothing was applied (list {kind} "
                "in globepay.allow_cluster_scoped to allow it)")


def check_order(settings: Settings, env: Environment) -> None:
    """An environment outside ``order`` has no previous environment: refuse hooks that gate on
    one rather than let them pass for want of anything to check."""
    if env.name in settings.order:
        return
    gates = [hook.target for hook in env.pre_promotion if hook.target in PREVIOUS_CHECKS]
    if gates:
        raise ConfigError(
            f"{env.name} is not in globepay.order, so its pre_promotion check {gates[0]} has no "
            f"previous environment to check; add {env.name} to globepay.order or remove the "
            "check")


class TargetGuard:
    """Checks each environment's kube contexts (one per cluster) and API server against the
    kubeconfig, read where its kubectl runs (on the environment's host, if it has one)."""

    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings
        self._configs: dict[object, dict] = {}
        self._reading = threading.Lock()

    def preload(self, envs: Sequence[Environment]) -> None:
        """Read the kubeconfig of each host ``envs`` run on (errors are left to `check`)."""
        for env in envs:
            for part in env.clusters():
                target = self.settings.target(part)
                if target.remote is None or not self.runner.dry_run:
                    with suppress(ConfigError):
                        self.kubeconfig(target)

    def kubeconfig(self, target: Target) -> dict:
        """``kubectl config view`` as JSON (read once per host; credentials are left out)."""
        with self._reading:
            return self._kubeconfig(target)

    def _kubeconfig(self, target: Target) -> dict:
        if target.remote not in self._configs:
            result = self.runner.at(target).run(
                kubectl.config_view(self.settings.kubectl, self.settings.kubeconfig),
                local_only=True)
            if result.exit_code == 127:
                raise ConfigError(f"kubectl not found: {self.settings.kubectl!r} (set "
                                  "globepay.kubectl)")
            if not result.ok:
                raise ConfigError(f"cannot read the kubeconfig ({self._where(target)}): "
                                  f"{result.error_line()}")
            self._configs[target.remote] = json.loads(result.stdout or "{}")
        return self._configs[target.remote]

    def _where(self, target: Target) -> str:
        where = self.settings.kubeconfig or "$KUBECONFIG or ~/.kube/config"
        return f"{where} on {target.remote}" if target.remote else where

    def check(self, env: Environment) -> None:
        """Each of the env's contexts exists and has its cluster (and user, when it names
        one) in the kubeconfig; its API server is ``env.server`` when set."""
        for part in env.clusters():
            if part.context is None and env.server is None:
                continue
            target = self.settings.target(part)
            if target.remote is not None and self.runner.dry_run:
                continue  # a dry run does not connect to hosts
            self._check(part, env.server, self.kubeconfig(target), target)

    def _check(self, env: Environment, wanted: str | None, config: dict,
               target: Target) -> None:
        contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or []}
        name = env.context or config.get("current-context") or ""
        if name not in contexts:
            known = ", ".join(sorted(str(c) for c in contexts)) or "none"
            what = f"kube context {name!r}" if name else "a current kube context"
            raise ConfigError(
                f"{env.name}: {what} is not in the kubeconfig ({self._where(target)}; it has: "
                f"{known}); set globepay.environments.{env.name.split('/')[0]}.context")
        clusters = {c.get("name"): c.get("cluster") or {} for c in config.get("clusters") or []}
        users = {u.get("name") for u in config.get("users") or []}
        cluster, user = contexts[name].get("cluster"), contexts[name].get("user")
        missing = ""  # kubectl would go on without it: to localhost:8080, or anonymously
        if not cluster:
            missing = "no cluster"
        elif cluster not in clusters:
            missing = f"cluster {cluster!r}, which is not in it"
        elif user and user not in users:
            missing = f"user {user!r}, which is not in it"
        if missing:
            raise ConfigError(f"{env.name}: kube context {name!r} of the kubeconfig "
                              f"({self._where(target)}) names {missing}")
        if wanted is None:
            return
        server = clusters[cluster].get("server", "")
        if _normal(server) != _normal(wanted):
            actual = without_credentials(server) or "no server"
            raise ConfigError(
                f"{env.name}: kube context {name!r} points at {actual}, not at "
                f"{without_credentials(wanted)} (globepay.environments."
                f"{env.name.split('/')[0]}.server); refusing to deploy to the wrong cluster")


def without_credentials(url: str) -> str:
    """A URL without the user-info part (``https://user:password@host`` -> ``https://host``)."""
    return re.sub(r"(://)[^/\s@]*@", r"\1", url)


def _normal(url: str) -> tuple[str, str, str]:
    """Scheme, host:port and path of a URL, without credentials or a trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = parts.port if parts.port not in (None, default) else None
    netloc = f"{host}:{port}" if port else host
    return parts.scheme.lower(), netloc, parts.path.rstrip("/")
