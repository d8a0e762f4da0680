"""Promotion history: one labelled ConfigMap per deploy, promote and rollback in the
environment's namespace, the change-cause the workloads carry, and the known-bad marks a
rollback leaves."""

from __future__ import annotations

import base64
import getpass
import gzip
import json
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import badimages, images, kubectl, release
from .errors import ClusterError
from .kubectl import Target
from .progress import Progress
from .promotion.result import EnvResult
from .runner import Runner
from .settings import Environment
from .snapshot import Snapshot
from .workload_state import WorkloadState

#: The record: gzip-compressed JSON in ``binaryData`` (a record names every workload's images
#: and revisions; compressed, a namespace's records stay small enough to read with the rest
#: of the environment on every run). ``record.json`` in ``data`` is read too.
KEY = "record.json.gz"
PLAIN_KEY = "record.json"
NAME_PREFIX = "globepay-history-"
SELECTOR = "globepay.dev/record=promotion"
LABELS = {"app.kubernetes.io/managed-by": "globepay-tasks", "globepay.dev/record": "promotion"}


def timestamp(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def new_id() -> str:
    """A record id that sorts by time: ``20250101-120000-3fa2c1``."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def actor(environ: Mapping[str, str]) -> str:
    """Who runs this: the CI actor (``GITHUB_ACTOR``) or ``user@host``."""
    if environ.get("GITHUB_ACTOR"):
        return environ["GITHUB_ACTOR"]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def ci_run(environ: Mapping[str, str]) -> str:
    """The URL of the CI run, when running in GitHub Actions."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if not all(environ.get(key) for key in keys):
        return ""
    server, repository, run = (environ[key] for key in keys)
    return f"{server}/{repository}/actions/runs/{run}"


def git_state(runner: Runner, root: Path) -> dict[str, Any]:
    """The commit checked out at ``root`` and whether the tree has changes (None: no git)."""
    head = runner.run(["git", "-C", str(root), "rev-parse", "HEAD"], local_only=True)
    if not head.ok:
        return {"commit": None, "dirty": None}
    status = runner.run(["git", "-C", str(root), "status", "--porcelain"], local_only=True)
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.ok
            else None}


def change_cause(record_id: str, env: str, refs: list[str]) -> str:
    return f"globepay {record_id} {env}: {', '.join(sorted(set(refs)))}"


def _images(states: Mapping[str, WorkloadState]) -> dict[str, dict[str, str]]:
    return {ref: dict(state.images) for ref, state in states.items() if state.exists}


def _revisions(states: Mapping[str, WorkloadState]) -> dict[str, str]:
    return {ref: state.revision for ref, state in states.items() if state.exists}


def rolled_away(result: EnvResult, after: Mapping[str, WorkloadState]) -> list[tuple[str, str]]:
    """(workload, image) a rollback left: images the rolled-back workloads ran before it
    that they do not run after it."""
    found = []
    for change in result.changes:
        if str(change.ref) not in result.rolled_back:
            continue
        left = change.before if result.action == "rollback" else change.after
        now = after.get(str(change.ref))
        for container, image in left.images.items():
            if now is None or now.images.get(container) != image:
                found.append((str(change.ref), image))
    return found


def to_mark(result: EnvResult, after: Mapping[str, WorkloadState]) -> list[tuple[str, str]]:
    """(workload, image) to mark bad after ``result``: the images a rollback rolled away from
    when it was asked for (``invoke rollback``) or followed a failed post-promotion hook;
    after a failed rollout, only those of the workloads whose own rollout failed; never an
    image the environment runs after it (the one rolled back to); nothing after any other
    failure (the API server not answering, a verification mismatch, an interrupt). An image
    of the same version as one it runs after (`images.same_version`) is not marked."""
    if result.action == "rollback" or result.failure == "HookFailed":
        found = rolled_away(result, after)
    elif result.failure == "RolloutFailed":
        found = [(ref, image) for ref, image in rolled_away(result, after)
                 if ref in result.failed_rollouts]
    else:
        return []
    running = {image for state in after.values() if state.exists
               for image in state.images.values()}
    return [(ref, image) for ref, image in found
            if not any(images.same_version(image, now) for now in running)]


def build_record(result: EnvResult, env: Environment, *, actor_name: str, ci: str,
                 git: Mapping[str, Any], after: Mapping[str, WorkloadState],
                 marked: list[str]) -> dict[str, Any]:
    """The record of one environment's deploy, promote or rollback."""
    before = {str(c.ref): c.before for c in result.changes}
    before = {**after, **before} if result.changes else dict(after)
    return {
        "id": result.id,
        "env": env.name,
        "namespace": env.namespace,
        "action": result.action,
        "source": result.source or None,
        "actor": actor_name,
        "ci_run": ci or None,
        "git": dict(git),
        "started": result.started_at,
        "finished": timestamp(),
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "reason": result.reason,
        "requested_images": dict(result.requested),
        "images_before": _images(before),
        "images_after": _images(after),
        "running_after": {f"{r.workload} {r.container}": r.pinned for r in result.running},
        "revisions_before": _revisions(before),
        "revisions_after": _revisions(after),
        "changed": [str(c.ref) for c in result.changes if c.changed],
        "rolled_back": list(result.rolled_back),
        "hooks": [{"hook": h.hook, "phase": h.phase, "ok": h.ok, "message": h.message,
                   "seconds": round(h.seconds, 3)} for h in result.hooks],
        "marked_bad": marked,
        "allowed_bad": list(result.allowed_bad),
        "restored": list(result.restored),
        "pruned": list(result.pruned),
        "kept": list(result.kept),
    }


def manifest(namespace: str, record: Mapping[str, Any], name: str) -> dict:
    """The ConfigMap ``name`` holding ``record``."""
    labels = {**LABELS, "globepay.dev/action": record["action"]}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "binaryData": {KEY: base64.b64encode(gzip.compress(
                json.dumps(record).encode(), mtime=0)).decode()}}


def decode(obj: dict) -> dict[str, Any] | None:
    """The record a history ConfigMap holds (None when it holds none)."""
    try:
        packed = (obj.get("binaryData") or {}).get(KEY)
        text = (gzip.decompress(base64.b64decode(packed)).decode() if packed
                else (obj.get("data") or {}).get(PLAIN_KEY) or "")
        record = json.loads(text)
    except (ValueError, OSError, EOFError):
        return None
    return record if isinstance(record, dict) and record.get("id") else None


def slot(records: list[dict[str, Any]], limit: int) -> tuple[str, list[str]]:
    """Where a new record goes when ``records`` (newest first) are kept, at most ``limit``
    with it: the name of a slot ``globepay-history-N`` (N < ``limit``) no kept record uses
    (normally the oldest record's, overwritten), and the names of the records to delete
    (normally none: only after ``history_limit`` was lowered, or records of other names)."""
    kept = records[:max(limit - 1, 0)]
    used = {record["_name"] for record in kept}
    name = next(f"{NAME_PREFIX}{n}" for n in range(limit + 1) if f"{NAME_PREFIX}{n}" not in used)
    stale = [r["_name"] for r in records[len(kept):] if r["_name"] != name]
    return name, stale


def records_in(objects: Iterable[dict]) -> list[dict[str, Any]]:
    """The history records among ConfigMaps, newest first (each with its ``_name``)."""
    records = []
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if obj.get("kind") != "ConfigMap" or labels.get("globepay.dev/record") != "promotion":
            continue
        record = decode(obj)
        if record is not None:
            record["_name"] = obj["metadata"]["name"]
            records.append(record)
    return sorted(records, key=lambda r: (r.get("started") or "", r["id"]), reverse=True)


def read_records(runner: Runner, target: Target) -> list[dict[str, Any]]:
    """The records of the target's namespace, newest first."""
    result = runner.at(target).run(kubectl.get_labelled(target, "configmaps", SELECTOR),
                                   idempotent=True)
    if not result.ok:
        raise ClusterError(f"reading history in {target.namespace} failed: "
                           f"{result.error_line()}")
    return records_in(kubectl.parse_list(result.stdout))


@dataclass(frozen=True)
class Entry:
    """What one environment's record takes: the objects to apply, what to say once they are
    written, and the records to delete then (`prune`)."""

    objects: list[dict]
    said: list[tuple[str, str, str]]
    runner: Runner
    target: Target
    stale: list[str]
    stale_secrets: list[str]

    def prune(self) -> None:
        """Delete the records beyond ``history_limit`` (normally none), and the Secrets
        beside those that keep a release's Secret values (the only ones with such a Secret:
        an environment without Secrets needs no access to Secrets)."""
        for resource, names in (("configmaps", self.stale), ("secrets", self.stale_secrets)):
            if not names:
                continue
            result = self.runner.at(self.target).run(kubectl.delete(self.target, resource, names))
            if not result.ok:
                raise ClusterError(f"pruning history failed: {result.error_line()}")


class Audit:
    """Records one run's promotions: ids, change-causes, history records and bad marks."""

    def __init__(self, runner: Runner, progress: Progress, *, project_root: Path,
                 history_limit: int, environ: Mapping[str, str] | None = None) -> None:
        self.runner = runner
        self.progress = progress
        self.project_root = project_root
        self.history_limit = history_limit
        environ = os.environ if environ is None else environ
        self.actor = actor(environ)
        self.ci = ci_run(environ)
        self._ids: dict[str, str] = {}
        self._git: dict[str, Any] | None = None

    def id_for(self, env: str) -> str:
        """This run's record id for ``env`` (the same on every call)."""
        return self._ids.setdefault(env, new_id())

    def change_cause(self, env: str, workload_images: Mapping[str, str]) -> dict[str, str]:
        """The change-cause annotation of a workload this promotion changes."""
        cause = change_cause(self.id_for(env), env, list(workload_images.values()))
        return {kubectl.CHANGE_CAUSE: cause}

    def entry(self, env: Environment, target: Target, result: EnvResult,
              after: Iterable[dict], known: Snapshot) -> Entry:
        """The record of ``result`` (``after``: the workloads as the run left them), the
        marks a rollback leaves on the known-bad list and the marks ``--allow-bad`` cleared
        (``known``: the list and the records as read before the run)."""
        if self._git is None:
            self._git = git_state(self.runner, self.project_root)
        states = {str(s.ref): s for s in map(WorkloadState.from_object, after)}
        marks = self._marks(result, states)
        cleared = list(result.allowed_bad) if result.outcome == "succeeded" else []
        objects, said = [], []
        if marks or cleared:
            current = badimages.marks_in(known.find("ConfigMap", badimages.CONFIGMAP))
            objects.append(badimages.manifest(env.namespace,
                                              badimages.merged(current, marks, cleared)))
        said += [("marked bad", f"{mark.image} ({mark.workload})", "warn") for mark in marks]
        said += [("bad mark cleared", f"{ref} passed with --allow-bad", "info")
                 for ref in cleared]
        record = build_record(result, env, actor_name=self.actor, ci=self.ci, git=self._git,
                              after=states, marked=[m.image for m in marks])
        name, stale, stale_secrets = self._slot(records_in(known.of_kind("ConfigMap")))
        if result.left_release and result.rendered is not None:
            record["release"], values = release.recorded(result.rendered.objects)
            if values:  # the Secrets' values: in a Secret beside the record, never in it
                objects.append(release.secrets_manifest(env.namespace, name, values))
        objects.append(manifest(env.namespace, record, name))
        said.append(("history", f"recorded {record['id']} ({record['outcome']})", "info"))
        return Entry(objects, said, self.runner, target, stale, stale_secrets)

    def note(self, env: Environment, target: Target, result: EnvResult) -> Entry:
        """The record of ``result``, a change that deployed nothing (``unmark``): who made
        it, when and why, in the place of the namespace's oldest record."""
        if self._git is None:
            self._git = git_state(self.runner, self.project_root)
        record = build_record(result, env, actor_name=self.actor, ci=self.ci, git=self._git,
                              after={}, marked=[])
        name, stale, stale_secrets = self._slot(read_records(self.runner, target))
        said = [("history", f"recorded {record['id']} ({record['outcome']})", "info")]
        return Entry([manifest(env.namespace, record, name)], said, self.runner, target, stale,
                     stale_secrets)

    def _slot(self, records: list[dict]) -> tuple[str, list[str], list[str]]:
        """The name of the next record, the records beyond ``history_limit`` and those of
        them with a Secret beside (of a release with Secret values)."""
        name, stale = slot(records, self.history_limit)
        return name, stale, [r["_name"] for r in records if r["_name"] in stale
                             and (r.get("release") or {}).get("secret_hashes")]

    def _marks(self, result: EnvResult, after: Mapping[str, WorkloadState]) -> list[
            badimages.Mark]:
        now = timestamp()
        reason = result.reason.splitlines()[0][:300] if result.reason else ""
        return [badimages.Mark(image=image,
                               digest=images.digest(image) or result.digests.get(image, ""),
                               workload=workload, marked_at=now, record=result.id,
                               actor=self.actor, reason=reason)
                for workload, image in to_mark(result, after)]
