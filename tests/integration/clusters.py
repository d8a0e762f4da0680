"""Where the integration tests run: the in-process sandbox (default) or an existing cluster.

Real-cluster mode is on when a kubeconfig is given, by ``pytest --kubeconfig PATH`` or
``GLOBEPAY_TEST_KUBECONFIG``. ``--contexts`` / ``GLOBEPAY_TEST_CONTEXTS`` names the context of
each environment (``dev=CTX,staging=CTX,prod=CTX``) or one context for all three (``CTX``);
without it the kubeconfig's current context serves all three. ``GLOBEPAY_TEST_REGISTRY``
(default ``registry.globepay.dev/globepay``) is where the test images live; see docs/testing.md.

Tests read (and, for the few objects they plant, write) the cluster through a `Cluster`:
`SandboxCluster` in-process, `KubectlCluster` through kubectl against any API server.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from globepay_tasks.sandbox import Sandbox

ENVIRONMENTS = ("dev", "staging", "prod")
DEFAULT_REGISTRY = "registry.globepay.dev/globepay"
#: Registry (and path prefix) of the test images: backend, frontend, ... under it.
REGISTRY = os.environ.get("GLOBEPAY_TEST_REGISTRY", "").rstrip("/") or DEFAULT_REGISTRY


@dataclass(frozen=True)
class RealCluster:
    """An existing cluster to run the integration tests on: kubeconfig, context per env."""

    kubeconfig: Path
    contexts: dict[str, str]


def _option(config: pytest.Config, name: str, variable: str) -> str:
    return str(config.getoption(name, default=None) or os.environ.get(variable, "")).strip()


def parse_contexts(text: str) -> dict[str, str] | None:
    """``dev=a,staging=b,prod=c`` or ``ctx`` (all three) -> context per env; None if empty."""
    if not text:
        return None
    if "=" not in text:
        return dict.fromkeys(ENVIRONMENTS, text)
    contexts = {}
    for item in text.split(","):
        env, sep, context = item.partition("=")
        if not sep or env.strip() not in ENVIRONMENTS or not context.strip():
            raise pytest.UsageError(f"--contexts: {item!r} is not ENV=CONTEXT "
                                    f"(ENV one of {', '.join(ENVIRONMENTS)})")
        contexts[env.strip()] = context.strip()
    missing = [env for env in ENVIRONMENTS if env not in contexts]
    if missing:
        raise pytest.UsageError(f"--contexts names no context for {', '.join(missing)}")
    return contexts


def real_cluster(config: pytest.Config, kubectl: str) -> RealCluster | None:
    """The cluster the options and environment point at; None: use the sandbox."""
    kubeconfig = _option(config, "kubeconfig", "GLOBEPAY_TEST_KUBECONFIG")
    if not kubeconfig:
        return None
    path = Path(kubeconfig).expanduser().resolve()
    if not path.is_file():
        raise pytest.UsageError(f"--kubeconfig {kubeconfig}: no such file")
    contexts = given_contexts(config)
    if contexts is None:
        current = subprocess.run([kubectl, "--kubeconfig", str(path), "config",
                                  "current-context"], capture_output=True, text=True, timeout=30)
        if current.returncode != 0 or not current.stdout.strip():
            raise pytest.UsageError(f"{path} has no current context: pass --contexts")
        contexts = dict.fromkeys(ENVIRONMENTS, current.stdout.strip())
    return RealCluster(path, contexts)


def given_contexts(config: pytest.Config) -> dict[str, str] | None:
    """The contexts ``--contexts`` / ``GLOBEPAY_TEST_CONTEXTS`` name; None when not given."""
    return parse_contexts(_option(config, "contexts", "GLOBEPAY_TEST_CONTEXTS"))


def is_real_cluster(config: pytest.Config) -> bool:
    """Whether the run targets an existing cluster (no kubectl call needed to decide)."""
    return bool(_option(config, "kubeconfig", "GLOBEPAY_TEST_KUBECONFIG"))


class Cluster(Protocol):
    """What tests read from a cluster, and the few objects they plant or remove there.

    ``env`` names the environment whose cluster (context) is meant.
    """

    def get(self, env: str, api_version: str, kind: str, namespace: str | None,
            name: str) -> dict | None: ...

    def list(self, env: str, api_version: str, kind: str,
             namespace: str | None = None) -> list[dict]: ...

    def create(self, env: str, obj: dict) -> dict: ...

    def put(self, env: str, obj: dict) -> dict: ...

    def delete(self, env: str, api_version: str, kind: str, namespace: str | None,
               name: str) -> None: ...


class SandboxCluster:
    """`Cluster` over an in-process sandbox (its environments are its clusters)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def get(self, env: str, api_version: str, kind: str, namespace: str | None,
            name: str) -> dict | None:
        return self.sandbox.get(env, api_version, kind, namespace, name)

    def list(self, env: str, api_version: str, kind: str,
             namespace: str | None = None) -> list[dict]:
        return self.sandbox.list(env, api_version, kind, namespace)

    def create(self, env: str, obj: dict) -> dict:
        return self.sandbox.create(env, obj)

    def put(self, env: str, obj: dict) -> dict:
        return self.sandbox.put(env, obj)

    def delete(self, env: str, api_version: str, kind: str, namespace: str | None,
               name: str) -> None:
        from globepay_tasks.sandbox.resources import by_kind

        self.sandbox.store(env).delete(by_kind(api_version, kind), namespace, name)


def resource(api_version: str, kind: str) -> str:
    """kubectl's fully qualified resource name: ``deployments.v1.apps``, ``pods``."""
    plural = kind.lower() + "s"
    group, _, version = api_version.rpartition("/")
    return f"{plural}.{version}.{group}" if group else plural


class KubectlCluster:
    """`Cluster` through kubectl: works against any API server, the sandbox's included."""

    def __init__(self, kubectl: str, kubeconfig: Path, contexts: dict[str, str],
                 environ: dict[str, str]) -> None:
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig
        self.contexts = contexts
        self.environ = environ

    def run(self, env: str, *args: str, input: str | None = None,  # noqa: A002
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """``kubectl --kubeconfig K --context C ARGS``; fails the test unless it exits 0."""
        result = subprocess.run(
            [self.kubectl, "--kubeconfig", str(self.kubeconfig), "--context",
             self.contexts[env], *args],
            input=input, capture_output=True, text=True, timeout=120, env=self.environ)
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}",
                        pytrace=False)
        return result

    @staticmethod
    def _scope(namespace: str | None) -> list[str]:
        return ["-n", namespace] if namespace else ["--all-namespaces"]

    def get(self, env: str, api_version: str, kind: str, namespace: str | None,
            name: str) -> dict | None:
        where = ["-n", namespace] if namespace else []
        result = self.run(env, "get", resource(api_version, kind), name, *where,
                          "--ignore-not-found", "-o", "json")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def list(self, env: str, api_version: str, kind: str,
             namespace: str | None = None) -> list[dict]:
        result = self.run(env, "get", resource(api_version, kind), *self._scope(namespace),
                          "-o", "json")
        return json.loads(result.stdout).get("items") or []

    def create(self, env: str, obj: dict) -> dict:
        return json.loads(self.run(env, "create", "-f", "-", "-o", "json",
                                   input=json.dumps(obj)).stdout)

    def put(self, env: str, obj: dict) -> dict:
        meta = obj.get("metadata") or {}
        exists = self.get(env, obj["apiVersion"], obj["kind"], meta.get("namespace"),
                          meta["name"])
        verb = "replace" if exists else "create"
        return json.loads(self.run(env, verb, "-f", "-", "-o", "json",
                                   input=json.dumps(obj)).stdout)

    def delete(self, env: str, api_version: str, kind: str, namespace: str | None,
               name: str) -> None:
        where = ["-n", namespace] if namespace else []
        self.run(env, "delete", resource(api_version, kind), name, *where, "--wait=false")
