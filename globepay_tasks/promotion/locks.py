"""The environment's lock around a run: taken from the snapshot the run read (a first deploy
creates the namespace for it), held ahead for a whole chain, removed by hand with unlock."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import ClusterError, EnvironmentLocked
from ..holder import Holder, duration
from ..kubectl import Target, apply_stdin
from ..lock import EnvLock, LockMoved, NamespaceMissing, held_lease
from ..lock import unlock as remove_lock
from ..manifests import Rendered
from ..settings import Environment
from ..snapshot import Snapshot, read_snapshot
from .preflight import take_snapshot
from .record import close

if TYPE_CHECKING:
    from . import Promoter


def take(p: Promoter, env: Environment, target: Target, rendered: Rendered | None,
         known: Snapshot, *, create_namespace: bool = True) -> tuple[EnvLock | None, Snapshot]:
    """Take the env's lock (exit 5 if another run holds it) from the Lease in ``known``; the
    snapshot to go on from (read again when the Lease changed since). On a first deploy the
    namespace does not exist yet: the overlay's Namespace object is applied alone first
    (``create_namespace``; else `NamespaceMissing`)."""
    settings = p.settings.lock
    where = f"lease {env.namespace}/{settings.name}"
    if not settings.enabled:
        return None, known
    if p.runner.dry_run:
        p.progress.step(env.name, "lock", f"would take {where}")
        return None, known
    lock = EnvLock(p.runner.at(target), target, settings.name, env.name,
                   env.timeout + settings.ttl_margin,
                   lambda text: p.progress.step(env.name, "lock", text, "warn"))
    try:
        for attempt in range(1, 4):
            try:
                _acquire(p, env, target, rendered, lock, known.find("Lease", settings.name),
                         create_namespace)
                break
            except LockMoved as moved:
                if attempt == 3:
                    raise EnvironmentLocked(f"{moved.message}; it keeps changing hands, "
                                            "try again") from None
                known = read_snapshot(p.runner, target, rendered)
    except BaseException:
        close(p, env, target, None, lock, known, None)  # interrupted once it was taken
        raise
    p.progress.step(env.name, "lock", f"took {where} as {lock.me.who}, TTL {duration(lock.me.ttl)}")
    return lock, known


def _acquire(p: Promoter, env: Environment, target: Target, rendered: Rendered | None,
             lock: EnvLock, lease: dict | None, create_namespace: bool) -> None:
    try:
        lock.acquire(lease)
    except NamespaceMissing:
        if not create_namespace:
            raise
        namespace = next((obj for obj in (rendered.objects if rendered else ())
                          if obj.get("kind") == "Namespace"), None)
        if namespace is None:
            raise ClusterError(f"{env.name}: namespace {env.namespace} does not exist and "
                               f"overlay {env.overlay} does not create it; nothing was "
                               "changed") from None
        p.progress.step(env.name, "namespace", f"creating {env.namespace} (first deploy)")
        outcome = p.runner.at(target).run(apply_stdin(target), stdin=json.dumps(namespace),
                                          idempotent=True)
        if not outcome.ok and "(AlreadyExists)" not in outcome.stderr:  # a parallel run
            raise ClusterError(f"{env.name}: creating namespace {env.namespace} failed: "
                               f"{outcome.error_line()}") from None
        lock.acquire(None)


def confirm(p: Promoter, env: Environment, before: str) -> None:
    """Stop before a write (``before``: which) when this run's lock of ``env`` was removed or
    taken over since (`LockLost`, exit 5): renewed now, so a forced unlock is seen at once."""
    lock = p.locks.get(env.name)
    if lock is not None:
        lock.confirm(before)


def hold(p: Promoter, envs: Sequence[tuple[Environment, Rendered]]) -> None:
    """Take the locks of all ``envs``, one after the other in their order, before the first
    is deployed (a chain holds every environment it will change until it is done with it);
    if any cannot be taken, release those taken and raise. Two chains take their locks in the
    same order, so the first to take the first lock takes them all (taken at once, each could
    take one the other needs, and both would give up)."""
    if p.runner.dry_run or not p.settings.lock.enabled:
        return
    try:
        for env, rendered in envs:
            known = take_snapshot(p, env, rendered)
            try:
                p.held[env.name] = (env, *take(p, env, p.target(env), rendered, known,
                                               create_namespace=False))
            except NamespaceMissing:  # a first deploy: the namespace is created in its turn
                p.snapshots[env.name] = known
    except BaseException:
        release_held(p)
        raise


def release_held(p: Promoter) -> None:
    """Release the locks `hold` took for environments that were not deployed."""
    while p.held:
        _, (env, lock, known) = p.held.popitem()
        close(p, env, p.target(env), None, lock, known, None)


def unlock(p: Promoter, env: Environment, *, force: bool = False,
           ask: Callable[[str, str], None] | None = None) -> None:
    """Remove the env's lock (on each of its clusters) by hand, naming the holder removed. A
    holder that renewed it within its TTL may be running: refused (exit 5) unless ``force``,
    then ``ask(cluster, holder)`` (None: not asked) must not raise. Every cluster is read
    and asked about before any lock is removed."""
    found = []
    for part in env.clusters():
        where = f"lease {part.namespace}/{p.settings.lock.name}"
        if p.runner.dry_run:
            p.progress.step(part.name, "unlock", f"would remove {where}")
            continue
        target = p.target(part)
        lease = held_lease(p.runner.at(target), target, p.settings.lock.name, part.name)
        if lease is None:
            p.progress.step(part.name, "unlock", f"{part.name} is not locked (no {where})")
            continue
        holder = Holder.of(lease)
        if holder.live() and not force:
            raise EnvironmentLocked(
                f"{part.name} is locked by {holder.describe()}, {holder.renewal()}: its "
                f"promotion may still be running ({where}); `invoke unlock --env {env.name} "
                "--force` removes it anyway")
        found.append((part, target, lease, holder, where))
    for part, _, _, holder, _ in found:
        if holder.live() and ask is not None:
            ask(part.name, f"{holder.describe()}, {holder.renewal()}")
    for part, target, lease, holder, where in found:
        remove_lock(p.runner.at(target), target, part.name, lease)
        p.progress.step(part.name, "unlock",
                        f"removed the lock held by {holder.describe()} ({where})", "warn")

