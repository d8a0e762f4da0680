"""Object storage of one simulated cluster: metadata bookkeeping, garbage collection, watches.

The store keeps objects per resource type, assigns ``uid``/``resourceVersion``/
``creationTimestamp``/``generation``, refuses stale updates, skips writes that change nothing
(no resourceVersion bump, no watch event), deletes dependents by ``ownerReferences`` and the
contents of a deleted Namespace, and fans every change out to watchers and listeners. A ring of
recent events lets a watch resume from a resourceVersion; older ones get 410 Gone.

Validation and defaulting happen in :mod:`.api`; controllers write here directly.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .clock import rfc3339
from .errors import (
    STALE,
    ApiError,
    already_exists,
    conflict,
    forbidden,
    gone,
    invalid,
    namespace_not_found,
    not_found,
)
from .resources import RESOURCE_TYPES, ResourceType, by_kind

#: Kinds whose ``metadata.generation`` counts spec changes.
GENERATION_KINDS = frozenset({
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Ingress",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "ReplicationController", "NetworkPolicy",
})
#: (apiVersion, kind) whose deletion orphans dependents when no propagationPolicy is given:
#: the real API server keeps batch/v1's old default (and warns); other kinds use Background.
ORPHAN_BY_DEFAULT = frozenset({("batch/v1", "Job")})
INITIAL_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
PROTECTED_NAMESPACES = frozenset({"default", "kube-public", "kube-system"})
NAMESPACE = by_kind("v1", "Namespace")
FIRST_RESOURCE_VERSION = 1000


def clone(value: Any) -> Any:
    """Deep copy of JSON-like data (faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """The JSON form used on the wire: compact, sorted keys (as Go marshals maps)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


@dataclass
class Event:
    """One committed change. ``obj`` is a private snapshot: never mutate it."""

    rv: int
    type: str
    rt: ResourceType
    namespace: str
    name: str
    obj: dict
    old: dict | None = None
    _lines: dict[str, bytes] = field(default_factory=dict, repr=False)

    def line(self, event_type: str | None = None) -> bytes:
        """The watch-stream line ``{"object": ..., "type": ...}\\n`` (cached)."""
        kind = event_type or self.type
        cached = self._lines.get(kind)
        if cached is None:
            cached = (dumps({"type": kind, "object": self.obj}) + "\n").encode()
            self._lines[kind] = cached
        return cached


class Watcher:
    """A subscription to changes of one resource type; events arrive on ``queue``.

    Queue items are ``(event_type, Event)``; ``None`` means the store is closing.
    """

    def __init__(self, rt: ResourceType, namespace: str | None,
                 predicate: Callable[[dict], bool]) -> None:
        self.rt = rt
        self.namespace = namespace
        self.predicate = predicate
        self.queue: queue.SimpleQueue[tuple[str, Event] | None] = queue.SimpleQueue()
        self.start_rv = 0

    def translate(self, event: Event) -> str | None:
        """The event type this watcher sees for ``event`` (selector transitions), or None."""
        if event.rt is not self.rt or (self.namespace and event.namespace != self.namespace):
            return None
        now = self.predicate(event.obj)
        if event.type != "MODIFIED" or event.old is None:
            return event.type if now else None
        before = self.predicate(event.old)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None

    def offer(self, event: Event) -> None:
        kind = self.translate(event)
        if kind:
            self.queue.put((kind, event))


Listener = Callable[[Event], None]


class Store:
    """All objects of one cluster, guarded by one re-entrant lock (``store.lock``)."""

    def __init__(self, name: str = "dev", history: int = 10000) -> None:
        self.name = name
        self.lock = threading.RLock()
        self._rv = FIRST_RESOURCE_VERSION
        self._horizon = FIRST_RESOURCE_VERSION
        self._objects: dict[ResourceType, dict[tuple[str, str], dict]] = {
            rt: {} for rt in RESOURCE_TYPES
        }
        self._by_uid: dict[str, tuple[ResourceType, str, str]] = {}
        self._children: dict[str, set[str]] = {}
        self._events: deque[Event] = deque(maxlen=history)
        self._watchers: set[Watcher] = set()
        self._listeners: list[Listener] = []
        self._closed = False
        for ns in INITIAL_NAMESPACES:
            self.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": ns},
                                    "spec": {"finalizers": ["kubernetes"]},
                                    "status": {"phase": "Active"}})

    # --- reading -------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out."""
        return self._rv

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> dict | None:
        """The stored object itself (do not mutate), or None."""
        return self._objects[rt].get((namespace or "" if rt.namespaced else "", name))

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict | None:
        """A copy of one object, or None."""
        with self.lock:
            obj = self.peek(rt, namespace, name)
            return clone(obj) if obj is not None else None

    def items(self, rt: ResourceType, namespace: str | None = None) -> list[dict]:
        """Stored objects of a type (do not mutate), optionally in one namespace."""
        objects = self._objects[rt]
        if namespace and rt.namespaced:
            return [o for (ns, _), o in objects.items() if ns == namespace]
        return list(objects.values())

    def list(self, rt: ResourceType, namespace: str | None = None,
             predicate: Callable[[dict], bool] | None = None) -> tuple[list[dict], int]:
        """Copies of matching objects sorted by namespace/name, and the list resourceVersion."""
        with self.lock:
            found = [o for o in self.items(rt, namespace) if predicate is None or predicate(o)]
            found.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            return [clone(o) for o in found], self._rv

    def children(self, uid: str) -> list[dict]:
        """Stored objects whose ownerReferences name ``uid`` (do not mutate)."""
        found = []
        for child_uid in self._children.get(uid, ()):
            where = self._by_uid.get(child_uid)
            if where:
                obj = self._objects[where[0]].get((where[1], where[2]))
                if obj is not None:
                    found.append(obj)
        return found

    def namespace_exists(self, namespace: str) -> bool:
        return ("", namespace) in self._objects[NAMESPACE]

    # --- writing -------------------------------------------------------------------------

    def _key(self, rt: ResourceType, obj: dict) -> tuple[str, str]:
        meta = _meta(obj)
        return (meta.get("namespace", "") if rt.namespaced else "", meta.get("name", ""))

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _index(self, obj: dict, old: dict | None) -> None:
        uid = obj["metadata"]["uid"]
        before = {r.get("uid") for r in (old or {}).get("metadata", {}).get("ownerReferences")
                  or ()}
        after = {r.get("uid") for r in obj["metadata"].get("ownerReferences") or ()}
        for owner in before - after:
            self._children.get(owner, set()).discard(uid)
        for owner in after - before:
            self._children.setdefault(owner, set()).add(uid)

    def create(self, rt: ResourceType, obj: dict, *, dry_run: bool = False,
               uid: str | None = None) -> dict:
        """Store a new object (a copy of ``obj``) and return a copy of what was stored."""
        with self.lock:
            obj = clone(obj)
            meta = _meta(obj)
            obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
            if not rt.namespaced:
                meta.pop("namespace", None)
            key = self._key(rt, obj)
            if rt.namespaced:
                namespace = self._objects[NAMESPACE].get(("", key[0]))
                if namespace is None:
                    raise namespace_not_found(key[0])
                if namespace["metadata"].get("deletionTimestamp"):
                    raise forbidden(rt, key[1], "unable to create new content in namespace "
                                    f"{key[0]} because it is being terminated")
            if key in self._objects[rt]:
                raise already_exists(rt, key[1])
            meta["uid"] = uid or str(uuid.uuid4())
            meta["creationTimestamp"] = rfc3339()
            meta.pop("resourceVersion", None)
            meta.pop("deletionTimestamp", None)
            meta.pop("managedFields", None)
            if rt.kind in GENERATION_KINDS:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if dry_run:
                return obj
            meta["resourceVersion"] = str(self._next_rv())
            self._objects[rt][key] = obj
            self._by_uid[meta["uid"]] = (rt, key[0], key[1])
            self._index(obj, None)
            self._emit("ADDED", rt, key, obj, None)
            return clone(obj)

    def update(self, rt: ResourceType, obj: dict, *, dry_run: bool = False,
               subresource: str | None = None) -> dict:
        """Replace an object. With ``subresource="status"`` only ``status`` is taken from
        ``obj``; otherwise ``status`` of kinds with a status subresource is kept. A stale
        ``metadata.resourceVersion`` is a 409 Conflict. Returns a copy of the result."""
        with self.lock:
            key = self._key(rt, obj)
            existing = self._objects[rt].get(key)
            if existing is None:
                raise not_found(rt, key[1])
            sent_rv = obj.get("metadata", {}).get("resourceVersion")
            if sent_rv and sent_rv != existing["metadata"]["resourceVersion"]:
                raise conflict(rt, key[1], STALE)
            if subresource == "status":
                new = clone(existing)
                if "status" in obj:
                    new["status"] = clone(obj["status"])
                else:
                    new.pop("status", None)
            else:
                new = clone(obj)
                if "status" in rt.subresources:
                    if "status" in existing:
                        new["status"] = clone(existing["status"])
                    else:
                        new.pop("status", None)
            new["apiVersion"], new["kind"] = rt.group_version, rt.kind
            meta, old_meta = _meta(new), existing["metadata"]
            for fixed in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp"):
                if fixed in old_meta:
                    meta[fixed] = old_meta[fixed]
                else:
                    meta.pop(fixed, None)
            meta.pop("managedFields", None)
            if rt.kind in GENERATION_KINDS:
                generation = old_meta.get("generation", 1)
                if new.get("spec") != existing.get("spec"):
                    generation += 1
                meta["generation"] = generation
            else:
                meta.pop("generation", None)
            meta["resourceVersion"] = old_meta["resourceVersion"]
            if "deletionTimestamp" in old_meta:
                meta["deletionGracePeriodSeconds"] = old_meta.get("deletionGracePeriodSeconds", 0)
                added = [f for f in meta.get("finalizers") or []
                         if f not in (old_meta.get("finalizers") or [])]
                if added:
                    found = "[]string{" + ", ".join(json.dumps(f) for f in added) + "}"
                    raise invalid(rt, key[1], [(
                        "metadata.finalizers", "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers {found}")])
            if new == existing or dry_run:
                return clone(new)
            meta["resourceVersion"] = str(self._next_rv())
            if "deletionTimestamp" in meta and not meta.get("finalizers"):
                self._objects[rt][key] = new
                return self._remove(rt, new, "Background")
            self._objects[rt][key] = new
            self._index(new, existing)
            self._emit("MODIFIED", rt, key, new, existing)
            return clone(new)

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *,
               propagation: str | None = None, dry_run: bool = False) -> dict:
        """Remove an object and (unless ``propagation == "Orphan"``) its dependents, as the
        garbage collector would (no policy: the kind's default, see
        :data:`ORPHAN_BY_DEFAULT`). A Namespace only turns Terminating (see
        :meth:`finalize_namespace`). Returns the removed object."""
        if propagation is None:
            orphan = (rt.group_version, rt.kind) in ORPHAN_BY_DEFAULT
            propagation = "Orphan" if orphan else "Background"
        with self.lock:
            key = (namespace or "" if rt.namespaced else "", name)
            existing = self._objects[rt].get(key)
            if existing is None:
                raise not_found(rt, name)
            if rt is NAMESPACE and name in PROTECTED_NAMESPACES:
                raise forbidden(rt, name, "this namespace may not be deleted")
            if dry_run:
                return clone(existing)
            if rt is NAMESPACE:
                return self._terminate(existing)
            if existing["metadata"].get("finalizers"):
                return self._mark_deleted(rt, existing)
            return self._remove(rt, existing, propagation)

    def _mark_deleted(self, rt: ResourceType, obj: dict) -> dict:
        """An object with finalizers only gets its ``deletionTimestamp``: it is removed when
        an update takes away its last finalizer (`update`)."""
        if obj["metadata"].get("deletionTimestamp"):
            return clone(obj)
        new = clone(obj)
        new["metadata"].update(deletionTimestamp=rfc3339(), deletionGracePeriodSeconds=0,
                               resourceVersion=str(self._next_rv()))
        key = self._key(rt, new)
        self._objects[rt][key] = new
        self._emit("MODIFIED", rt, key, new, obj)
        return clone(new)

    def _terminate(self, namespace: dict) -> dict:
        """Mark a Namespace Terminating; :meth:`finalize_namespace` removes it later."""
        if namespace["metadata"].get("deletionTimestamp"):
            return clone(namespace)
        new = clone(namespace)
        new["metadata"]["deletionTimestamp"] = rfc3339()
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        new.setdefault("status", {})["phase"] = "Terminating"
        key = self._key(NAMESPACE, new)
        self._objects[NAMESPACE][key] = new
        self._emit("MODIFIED", NAMESPACE, key, new, namespace)
        return clone(new)

    def finalize_namespace(self, name: str) -> None:
        """Delete everything in a terminating Namespace, then the Namespace."""
        with self.lock:
            namespace = self._objects[NAMESPACE].get(("", name))
            if namespace is None:
                return
            for other in RESOURCE_TYPES:
                if other.namespaced:
                    for obj in list(self.items(other, name)):
                        self._remove(other, obj, "Background")
            self._remove(NAMESPACE, namespace, "Background")

    def _remove(self, rt: ResourceType, obj: dict, propagation: str) -> dict:
        meta = obj["metadata"]
        key = self._key(rt, obj)
        if self._objects[rt].get(key) is not obj:
            return clone(obj)
        uid = meta["uid"]
        dependents = list(self.children(uid))
        if propagation == "Orphan":
            for child in dependents:
                child_rt = by_kind(child["apiVersion"], child["kind"])
                if child_rt is None:
                    continue
                refs = [r for r in child["metadata"].get("ownerReferences", [])
                        if r.get("uid") != uid]
                new_meta = clone(child["metadata"])
                if refs:
                    new_meta["ownerReferences"] = refs
                else:
                    new_meta.pop("ownerReferences", None)
                self._replace_meta(child_rt, child, new_meta)
        else:
            for child in dependents:
                child_rt = by_kind(child["apiVersion"], child["kind"])
                if child_rt is not None:
                    self._remove(child_rt, child, "Background")
        del self._objects[rt][key]
        self._by_uid.pop(uid, None)
        self._children.pop(uid, None)
        for ref in meta.get("ownerReferences") or ():
            self._children.get(ref.get("uid"), set()).discard(uid)
        gone_obj = clone(obj)
        gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self._emit("DELETED", rt, key, gone_obj, None)
        return clone(gone_obj)

    def _replace_meta(self, rt: ResourceType, existing: dict, meta: dict) -> None:
        """Give a stored object new metadata (used when orphaning dependents)."""
        key = self._key(rt, existing)
        new = clone(existing)
        new["metadata"] = meta
        meta["resourceVersion"] = str(self._next_rv())
        self._objects[rt][key] = new
        self._index(new, existing)
        self._emit("MODIFIED", rt, key, new, existing)

    # --- change fan-out ------------------------------------------------------------------

    def _emit(self, kind: str, rt: ResourceType, key: tuple[str, str], obj: dict,
              old: dict | None) -> None:
        event = Event(int(obj["metadata"]["resourceVersion"]), kind, rt, key[0], key[1], obj, old)
        if len(self._events) == self._events.maxlen:
            self._horizon = self._events[0].rv
        self._events.append(event)
        for watcher in list(self._watchers):
            watcher.offer(event)
        for listener in self._listeners:
            listener(event)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event)`` after every committed change (under the store lock)."""
        with self.lock:
            self._listeners.append(listener)

    def watch(self, rt: ResourceType, namespace: str | None, predicate: Callable[[dict], bool],
              since: int | None) -> tuple[Watcher, list[tuple[str, Event]]]:
        """Register a watcher. ``since=None`` starts with synthetic ADDED events for every
        current object; otherwise with the retained events after ``since`` (410 if too old).
        """
        with self.lock:
            if self._closed:
                raise ApiError(503, "ServiceUnavailable", "the server is shutting down")
            watcher = Watcher(rt, namespace, predicate)
            backlog: list[tuple[str, Event]] = []
            if since is None:
                for obj in sorted(self.items(rt, namespace),
                                  key=lambda o: int(o["metadata"]["resourceVersion"])):
                    if predicate(obj):
                        key = self._key(rt, obj)
                        event = Event(int(obj["metadata"]["resourceVersion"]), "ADDED", rt,
                                      key[0], key[1], clone(obj))
                        backlog.append(("ADDED", event))
            else:
                if since < self._horizon:
                    raise gone(f"too old resource version: {since} ({self._horizon})")
                for event in self._events:
                    if event.rv > since:
                        kind = watcher.translate(event)
                        if kind:
                            backlog.append((kind, event))
            watcher.start_rv = self._rv
            self._watchers.add(watcher)
            return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers.discard(watcher)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def close(self) -> None:
        """Wake every watcher with the end-of-stream marker."""
        with self.lock:
            self._closed = True
            for watcher in self._watchers:
                watcher.queue.put(None)
            self._watchers.clear()

    def all_objects(self) -> Iterable[tuple[ResourceType, dict]]:
        """Every stored object with its type (do not mutate)."""
        for rt, objects in self._objects.items():
            for obj in objects.values():
                yield rt, obj
