"""The per-environment promotion lock: a ``coordination.k8s.io/v1`` Lease in the env's namespace.

The Lease stays in place between runs; a run holds it while ``spec.holderIdentity`` names it.
It is taken from the state the run read with the rest of the environment (`Snapshot`): created
when there was none, replaced at the resourceVersion read when it was free or stale (past its
``leaseDurationSeconds`` since the last renewal, or held by a process of this host that no
longer runs: `Holder.gone`). The server refuses both when anyone wrote
the Lease since (AlreadyExists, Conflict): the run then reads the environment again
(`LockMoved`), so what it read is never older than its hold on the lock. Released by clearing
the holder at the resourceVersion this run last wrote, in the same ``kubectl apply`` as the
run's history record. Every kubectl call goes through the `Runner`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from . import kubectl
from .command_result import CommandResult
from .errors import ClusterError, EnvironmentLocked, LockLost
from .holder import Holder
from .kubectl import Target
from .runner import Runner

LEASE_RESOURCE = "lease"


class NamespaceMissing(ClusterError):
    """The environment's namespace does not exist yet (a first deploy)."""


class LockMoved(ClusterError):
    """The Lease was written since it was read: read the environment again, then retry."""


def is_held(lease: dict | None) -> bool:
    """Whether a Lease names a holder (a released one does not)."""
    return bool(lease and (lease.get("spec") or {}).get("holderIdentity"))


def _reason(result: CommandResult) -> str:
    """The Status reason kubectl printed: ``AlreadyExists``, ``NotFound``, ``Conflict``..."""
    text = result.stderr
    start = text.find("Error from server (")
    if start < 0:
        return ""
    start += len("Error from server (")
    return text[start:text.find(")", start)]


class EnvLock:
    """The lock of one environment, held by this process from `acquire` to `release`.

    While held, a background thread renews it every third of its TTL, so that a promotion that
    runs longer than the TTL (a slow rollback after a full-length wait) is not taken over.
    """

    def __init__(self, runner: Runner, target: Target, name: str, env: str, ttl: float,
                 warn: Callable[[str], None]) -> None:
        self.runner = runner
        self.target = target
        self.name = name
        self.env = env
        self.warn = warn
        self.me = Holder.me(ttl)
        self.held = False
        #: how this run lost the lock (``removed``, ``taken over by …``); "" while it holds it
        self.lost = ""
        self._version = ""
        self._renewing = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"lease {self.target.namespace}/{self.name}"

    @property
    def hint(self) -> str:
        """The environment to name to `invoke unlock` (``prod`` for the cluster ``prod/eu``)."""
        return self.env.split("/", 1)[0]

    def _body(self, resource_version: str | None = None, renewed: float | None = None) -> str:
        return json.dumps(self.me.lease(self.name, self.target.namespace, resource_version,
                                        renewed))

    def _took(self, version: str) -> None:
        """Held from now on, at ``version``; renewed in the background."""
        self.held, self._version = True, version
        if self.me.ttl > 0:
            self._stop.clear()
            self._renewer = threading.Thread(target=self._keep_alive, daemon=True,
                                             name=f"lock-{self.env}")
            self._renewer.start()

    def acquire(self, seen: dict | None) -> None:
        """Take the lock, ``seen`` being the Lease as read with the environment (None: there
        was none). `EnvironmentLocked` (exit 5) if another run holds it, `LockMoved` if the
        Lease changed since it was read, `NamespaceMissing` when the namespace does not
        exist yet."""
        if seen is not None:
            return self._replace(seen)
        attempts = self.runner.retry.attempts
        for attempt in range(1, attempts + 1):
            result = self.runner.run(kubectl.create_stdin(self.target), stdin=self._body())
            if result.ok:
                return self._took(_version_of(result))
            reason = _reason(result)
            if reason == "AlreadyExists":
                # another run's, or this one's if an earlier attempt reached the server: the
                # token in the Lease read again tells
                raise LockMoved(f"{self.env}: the lock ({self.where}) was created since "
                                "the environment was read")
            if reason == "NotFound" and "namespaces" in result.stderr:
                raise NamespaceMissing(f"{self.env}: namespace {self.target.namespace} does "
                                       "not exist")
            if not result.transient or attempt >= attempts:
                break
            self.warn(f"taking the lock failed transiently ({result.error_line()}); trying "
                      f"again (attempt {attempt + 1} of {attempts})")
            self.runner.pause(self.runner.retry.delay(attempt))
        raise ClusterError(f"{self.env}: could not take the lock ({self.where}): "
                           f"{result.error_line()}; nothing was changed")

    def _read(self) -> dict | None:
        result = self.runner.run(kubectl.get_object(self.target, LEASE_RESOURCE, self.name),
                                 idempotent=True)
        if result.ok:
            return json.loads(result.stdout or "{}")
        if _reason(result) == "NotFound":
            return None
        raise ClusterError(f"{self.env}: could not read the lock ({self.where}): "
                           f"{result.error_line()}")

    def _replace(self, lease: dict) -> None:
        """The Lease exists: this run's (a retried create), free, live (exit 5) or stale
        (past its TTL, or its holder's process is gone from this host: taken over)."""
        holder = Holder.of(lease)
        version = (lease.get("metadata") or {}).get("resourceVersion")
        held = is_held(lease)
        if held and holder.token == self.me.token:
            return self._took(version or "")
        why = ("past its TTL" if holder.expired() else holder.gone()) if held else ""
        if held and not why:
            raise EnvironmentLocked(
                f"{self.env} is locked by {holder.describe()}: another promotion is running "
                f"({self.where}); wait for it, or remove a dead lock with "
                f"`invoke unlock --env {self.hint}`")
        result = self.runner.run(kubectl.replace_stdin(self.target), stdin=self._body(version))
        if not result.ok:
            if _reason(result) in ("Conflict", "NotFound"):
                raise LockMoved(f"{self.env}: the lock ({self.where}) changed since the "
                                "environment was read")
            raise ClusterError(f"{self.env}: could not take the lock ({self.where}): "
                               f"{result.error_line()}; nothing was changed")
        self._took(_version_of(result))
        if held:
            self.warn(f"took over a stale lock: it was held by {holder.describe()}, {why}")

    def _keep_alive(self) -> None:
        interval = max(1.0, self.me.ttl / 3)
        while not self._stop.wait(interval) and self._version and not self.lost:
            with suppress(KeyboardInterrupt, ClusterError):  # interrupted: commands are
                self.renew()  # stopped until the rollback clears it; failed: tried again

    def renew(self) -> bool:
        """Renew the Lease now, at the resourceVersion this run last wrote; False when the
        lock was removed or taken over since (`lost` says how; renewing stops). A failure
        that says neither (a transient one) counts as held: the next call tries again."""
        with self._renewing:
            if self.lost:
                return False
            result = self.runner.run(kubectl.replace_stdin(self.target),
                                     stdin=self._body(self._version, time.time()))
            if result.ok:
                self._version = _version_of(result)
                return True
            if _reason(result) not in ("Conflict", "NotFound"):
                return True
            lease = self._read()
            if is_held(lease) and Holder.of(lease or {}).token == self.me.token:
                self._version = str((lease or {})["metadata"].get("resourceVersion", ""))
                return True  # a renewal of this run's got there first
            self.lost = (f"taken over by {Holder.of(lease or {}).describe()}" if is_held(lease)
                         else "removed")
            self.held = False
            self.warn(f"LOST THE LOCK ({self.where}): {self.lost} while this promotion was "
                      "running")
            return False

    def confirm(self, before: str) -> None:
        """Renew the lock before a write (``before``: which); `LockLost` (exit 5) when this
        run no longer holds it, so that it never writes over another run's changes."""
        if not self.renew():
            raise LockLost(f"{self.env}: this run's lock ({self.where}) was {self.lost} "
                           f"while it ran: stopped before {before}; nothing of this run was "
                           f"rolled back and no history record written (check `invoke "
                           f"status --env {self.hint}`)")

    def stop(self) -> dict | None:
        """Stop renewing; the Lease that releases the lock (holder cleared, at the
        resourceVersion this run last wrote: refused if anyone else wrote it since), or None
        when the lock is not held."""
        if not self.held:
            return None
        self.held = False
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=30)
        released = self.me.lease(self.name, self.target.namespace, self._version)
        released["metadata"].pop("annotations")
        released["spec"] = {"leaseDurationSeconds": int(self.me.ttl)}
        return released

    def released(self, applied: CommandResult) -> bool:
        """Whether the apply of the `stop` Lease released the lock; warns (never raises)
        otherwise, naming who holds it now."""
        if f"lease.coordination.k8s.io/{self.name} " in applied.stdout + " ":
            return True
        with suppress(ClusterError, KeyboardInterrupt):
            lease = self._read()
            if lease is None or not is_held(lease):
                self.warn(f"the lock ({self.where}) was already released or removed")
                return False
            holder = Holder.of(lease)
            if holder.token != self.me.token:
                self.warn(f"the lock ({self.where}) is now held by {holder.describe()}; "
                          "left it in place")
                return False
        self.warn(f"could not release the lock ({self.where}): {applied.error_line()}; "
                  f"remove it with `invoke unlock --env {self.hint}`")
        return False


def _version_of(result: CommandResult) -> str:
    try:
        return str(json.loads(result.stdout or "{}").get("metadata", {})
                   .get("resourceVersion", ""))
    except ValueError:
        return ""


def held_lease(runner: Runner, target: Target, name: str, env: str) -> dict | None:
    """An environment's Lease while a holder holds it (None: there is none, or it is free)."""
    lease = EnvLock(runner, target, name, env, 0, lambda _: None)._read()
    return lease if is_held(lease) else None


def unlock(runner: Runner, target: Target, env: str, lease: dict) -> None:
    """Release ``lease`` (as `held_lease` read it) by hand: its holder cleared, at the
    resourceVersion read, so that a lock that changed hands since is left in place."""
    metadata = lease.get("metadata") or {}
    released = {"apiVersion": lease.get("apiVersion"), "kind": "Lease",
                "metadata": {key: metadata[key] for key in
                             ("name", "namespace", "resourceVersion", "labels") if key in metadata},
                "spec": {"leaseDurationSeconds": (lease.get("spec") or {}).get(
                    "leaseDurationSeconds")}}
    result = runner.run(kubectl.replace_stdin(target), stdin=json.dumps(released))
    if not result.ok:
        changed = _reason(result) in ("Conflict", "NotFound")
        raise ClusterError(f"{env}: could not remove the lock (lease {target.namespace}/"
                           f"{metadata.get('name')}): " + (
                               "it changed since it was read; run unlock again" if changed
                               else result.error_line()))
