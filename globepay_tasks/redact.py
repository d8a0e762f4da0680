"""Secrets out of everything the tasks print or record: flags, headers, URLs, kubeconfig values."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MASK = "***"
#: Shorter values are not masked wherever they appear (they would mask ordinary words).
MIN_SECRET_LENGTH = 6

_SECRET_WORD = r"(?:token|password|passwd|secret|api[-_]?key|credentials?)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # --token VALUE, --password=VALUE, --client-secret VALUE
    (re.compile(rf"(--[\w-]*{_SECRET_WORD}[\w-]*)(=|\s+)(?!-)(\S+)", re.IGNORECASE),
     rf"\1\2{MASK}"),
    # Authorization: Bearer VALUE / Basic VALUE, and a bare "Bearer VALUE"
    (re.compile(r"(Authorization:\s*(?:Bearer|Basic)\s+|\bBearer\s+)([A-Za-z0-9._~+/=-]+)",
                re.IGNORECASE), rf"\1{MASK}"),
    # https://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)([^\s/@]+)(@)", re.IGNORECASE),
     rf"\1{MASK}\3"),
    # API_TOKEN=VALUE, DB_PASSWORD=VALUE (shell assignments, env listings)
    (re.compile(rf"\b([A-Za-z0-9_]*{_SECRET_WORD}[A-Za-z0-9_]*)=(?!{re.escape(MASK)})(\S+)",
                re.IGNORECASE), rf"\1={MASK}"),
)

#: Keys of a kubeconfig whose values are credentials.
_KUBECONFIG_SECRET_KEYS = {
    "token", "password", "client-key-data", "client-certificate-data", "access-token",
    "refresh-token", "id-token", "client-secret", "apiKey",
}


class Redactor:
    """Masks secrets in text: known patterns plus literal values registered with `add`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Any) -> None:
        """Mask this value wherever it appears (ignored when too short to be a secret)."""
        if isinstance(secret, str) and len(secret.strip()) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret.strip())

    def add_kubeconfig(self, path: str | os.PathLike[str] | None) -> None:
        """Register the credentials of a kubeconfig (its users and servers' passwords).

        ``None`` means kubectl's own default: the files of ``$KUBECONFIG``, else
        ``~/.kube/config``. Missing or unreadable files are skipped: the run reports its own
        errors, redaction never fails it.
        """
        if path is not None:
            paths = [Path(path)]
        elif os.environ.get("KUBECONFIG"):
            paths = [Path(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        else:
            paths = [Path.home() / ".kube" / "config"]
        for item in paths:
            try:
                document = yaml.safe_load(item.read_text())
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                continue
            for value in kubeconfig_secrets(document):
                self.add(value)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def deep(self, value: Any) -> Any:
        """Every string inside dicts, lists and tuples redacted (keys included)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.deep(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(item) for item in value]
        return value


def kubeconfig_secrets(document: Any) -> list[str]:
    """Credential values found in a parsed kubeconfig: user credentials, auth-provider
    tokens, exec plugin env values and passwords embedded in server URLs."""
    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for child_key, child in node.items():
                walk(child, str(child_key))
        elif isinstance(node, list):
            for item in node:
                if key == "env" and isinstance(item, dict) and "value" in item:
                    found.append(str(item["value"]))
                walk(item, key)
        elif isinstance(node, str):
            if key in _KUBECONFIG_SECRET_KEYS:
                found.append(node)
            elif key == "server":
                match = re.match(r"[a-z][a-z0-9+.-]*://[^/@:]*:([^/@]+)@", node, re.IGNORECASE)
                if match:
                    found.append(match.group(1))

    walk(document)
    return found
