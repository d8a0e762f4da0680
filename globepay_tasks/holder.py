"""Who holds a promotion lock, as its Lease records it: user@host, pid, CI run, since when,
for how long, and whether that process is known to be gone."""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

LEASE_API_VERSION = "coordination.k8s.io/v1"
TOKEN_ANNOTATION = "globepay.dev/lock-token"
CI_RUN_ANNOTATION = "globepay.dev/ci-run"
PID_ANNOTATION = "globepay.dev/pid"
HOST_ANNOTATION = "globepay.dev/host"
BOOT_ANNOTATION = "globepay.dev/boot-id"
PID_NAMESPACE_ANNOTATION = "globepay.dev/pid-namespace"
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
PID_MAX = 4194304  # Linux's largest

#: Environment variables naming the CI run, first found wins.
CI_RUN_VARIABLES = (
    "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "CIRCLE_WORKFLOW_ID",
    "BUILD_TAG", "BUILD_ID",
)


def ci_run_id(environ: Mapping[str, str] | None = None) -> str:
    """The CI run this process belongs to (``GITHUB_RUN_ID`` and friends), or ``""``."""
    environ = os.environ if environ is None else environ
    for name in CI_RUN_VARIABLES:
        if environ.get(name):
            attempt = environ.get("GITHUB_RUN_ATTEMPT") if name == "GITHUB_RUN_ID" else None
            return f"{environ[name]}.{attempt}" if attempt else environ[name]
    return ""


def _micro_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def boot_id() -> str:
    """This host's boot id (a new one at every boot), or ``""`` where there is none."""
    try:
        with open(BOOT_ID_FILE) as file:
            return file.read().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """This process's pid namespace (``pid:[4026531836]``): pids of another one (a container
    with the same host name) cannot be looked up here. ``""`` where there is none."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def runs(pid: int) -> bool:
    """Whether process ``pid`` exists here and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's
        return True
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def duration(seconds: float) -> str:
    """``45s``, ``3m12s``, ``2h05m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass(frozen=True)
class Holder:
    """Who holds (or wants) a lock: user@host, pid, CI run, since when, for how long.

    ``acquired`` is when the lock was taken, ``renewed`` when its holder last said it is alive;
    the lock is stale ``ttl`` seconds after ``renewed``. ``host``, ``boot`` and ``pid_ns`` say
    where its process runs (`gone`).
    """

    identity: str
    pid: str
    ci_run: str
    acquired: float | None
    ttl: float
    token: str
    renewed: float | None = None
    host: str = ""
    boot: str = ""
    pid_ns: str = ""

    @classmethod
    def me(cls, ttl: float) -> Holder:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        now, host = time.time(), socket.gethostname()
        return cls(f"{user}@{host}", str(os.getpid()), ci_run_id(), now, ttl,
                   uuid.uuid4().hex, now, host, boot_id(), pid_namespace())

    @classmethod
    def of(cls, lease: dict) -> Holder:
        """The holder recorded in a Lease (also one written by another tool)."""
        spec = lease.get("spec") or {}
        annotations = (lease.get("metadata") or {}).get("annotations") or {}
        acquired = _parse_time(spec.get("acquireTime"))
        return cls(
            identity=str(spec.get("holderIdentity") or "unknown holder"),
            pid=annotations.get(PID_ANNOTATION, ""),
            ci_run=annotations.get(CI_RUN_ANNOTATION, ""),
            acquired=acquired,
            ttl=float(spec.get("leaseDurationSeconds") or 0),
            token=annotations.get(TOKEN_ANNOTATION, ""),
            renewed=_parse_time(spec.get("renewTime")) or acquired,
            host=annotations.get(HOST_ANNOTATION, ""),
            boot=annotations.get(BOOT_ANNOTATION, ""),
            pid_ns=annotations.get(PID_NAMESPACE_ANNOTATION, ""),
        )

    def age(self, now: float | None = None) -> float | None:
        if self.acquired is None:
            return None
        return (time.time() if now is None else now) - self.acquired

    def expired(self, now: float | None = None) -> bool:
        """Past its TTL since the last renewal (a lock without times never expires)."""
        if self.renewed is None or self.ttl <= 0:
            return False
        return (time.time() if now is None else now) - self.renewed > self.ttl

    def live(self) -> bool:
        """Renewed within its TTL and not known to be gone: its promotion may be running."""
        return not self.expired() and not self.gone()

    def gone(self) -> str:
        """Why this holder's process is known to run no more (``""``: it may run): it ran on
        this host (same host name) before its last boot, or its pid no longer exists here."""
        if not self.host or self.host != socket.gethostname():
            return ""
        if self.boot and boot_id() and self.boot != boot_id():
            return "its host has restarted since"
        pid = int(self.pid) if self.pid.isascii() and self.pid.isdigit() else 0
        if 0 < pid <= PID_MAX and self.pid_ns == pid_namespace() and not runs(pid):
            return f"its process (pid {pid}) no longer runs on this host"
        return ""

    @property
    def who(self) -> str:
        """``alice@ci-7 (pid 4242, CI run 99)``."""
        extra = [f"pid {self.pid}"] if self.pid else []
        if self.ci_run:
            extra.append(f"CI run {self.ci_run}")
        return self.identity + (f" ({', '.join(extra)})" if extra else "")

    def describe(self, now: float | None = None) -> str:
        """``alice@ci-7 (pid 4242, CI run 99) for 3m12s (TTL 7m00s)``."""
        text = self.who
        age = self.age(now)
        text += f" for {duration(age)}" if age is not None else " since an unknown time"
        return text + (f" (TTL {duration(self.ttl)})" if self.ttl else "")

    def renewal(self, now: float | None = None) -> str:
        """``since 2026-12-05T07:37:05Z, renewed 20s ago``."""
        now = time.time() if now is None else now
        since = _micro_time(self.acquired)[:19] + "Z" if self.acquired else "an unknown time"
        ago = f", renewed {duration(now - self.renewed)} ago" if self.renewed else ""
        return f"since {since}{ago}"

    def lease(self, name: str, namespace: str, resource_version: str | None = None,
              renewed: float | None = None) -> dict:
        """The Lease object recording this holder (``resource_version`` to replace one)."""
        metadata: dict = {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "globepay-tasks"},
            "annotations": {TOKEN_ANNOTATION: self.token, PID_ANNOTATION: self.pid,
                            CI_RUN_ANNOTATION: self.ci_run, HOST_ANNOTATION: self.host,
                            BOOT_ANNOTATION: self.boot, PID_NAMESPACE_ANNOTATION: self.pid_ns},
        }
        if resource_version:
            metadata["resourceVersion"] = resource_version
        acquired = self.acquired or time.time()
        return {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": metadata,
            "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.ttl),
                     "acquireTime": _micro_time(acquired),
                     "renewTime": _micro_time(renewed or self.renewed or acquired)},
        }
