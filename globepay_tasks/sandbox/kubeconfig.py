"""Writing the sandbox kubeconfig (atomically)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml


def context_name(cluster: str) -> str:
    """The default context (and cluster/user entry) name of a sandbox cluster:
    ``globepay-<cluster>``."""
    return f"globepay-{cluster}"


def server_with_credentials(url: str, cluster: str, token: str) -> str:
    """``http://<cluster>:<token>@127.0.0.1:PORT/clusters/<cluster>``.

    kubectl sends no bearer token over plain HTTP, but its HTTP client does send credentials
    embedded in the server URL (HTTP Basic); the server accepts either form.
    """
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{cluster}:{token}@{rest}/clusters/{cluster}"


def kubeconfig_document(url: str, contexts: Mapping[str, str], token: str) -> dict:
    """The kubeconfig: one cluster, user and context per sandbox cluster, named by its
    context (``contexts``: cluster -> context name)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": name, "cluster": {"server": server_with_credentials(url, c, token)}}
            for c, name in contexts.items()
        ],
        "users": [{"name": name, "user": {"token": token}} for name in contexts.values()],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}
                     for name in contexts.values()],
        "current-context": next(iter(contexts.values())),
    }


def kubeconfig_text(url: str, contexts: Mapping[str, str], token: str) -> str:
    """The kubeconfig as YAML."""
    return yaml.safe_dump(kubeconfig_document(url, contexts, token), sort_keys=False)


def write_kubeconfig(path: str | os.PathLike[str], url: str, contexts: Mapping[str, str],
                     token: str) -> Path:
    """Write the kubeconfig to ``path`` atomically (temp file + rename), mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = kubeconfig_text(url, contexts, token)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
