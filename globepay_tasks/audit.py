"""Promotion history: one labelled ConfigMap per deploy, promote and rollback in the
environment's namespace, the change-cause the workloads carry, and the known-bad marks a
rollback leaves."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import badimages, images, kubectl, workloads
from .config import Environment
from .errors import ClusterError
from .kubectl import Target
from .progress import Progress
from .promotion import EnvResult
from .remote import staged
from .runner import Runner
from .workloads import WorkloadState

KEY = "record.json"
NAME_PREFIX = "globepay-history-"
SELECTOR = "globepay.dev/record=promotion"
LABELS = {"app.kubernetes.io/managed-by": "globepay-tasks", "globepay.dev/record": "promotion"}
CHANGE_CAUSE = "kubernetes.io/change-cause"
#: Failures that say something about the image: its rollout or a post-promotion hook.
IMAGE_FAILURES = ("RolloutFailed", "HookFailed")


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
    }


def manifest(namespace: str, record: Mapping[str, Any]) -> dict:
    labels = {**LABELS, "globepay.dev/action": record["action"]}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME_PREFIX + record["id"], "namespace": namespace,
                         "labels": labels},
            "data": {KEY: json.dumps(record, indent=1)}}


def _write(runner: Runner, argv_for: Any, target: Target, obj: dict) -> None:
    """Write ``obj`` to a temporary file where the target's kubectl runs and run
    ``argv_for(target, path)`` on it."""
    runner = runner.at(target)
    with staged(runner, "object.json", json.dumps(obj)) as path:
        result = runner.run(argv_for(target, path))
    if not result.ok:
        raise ClusterError(f"writing {obj['kind']} {obj['metadata']['name']} failed: "
                           f"{result.error_line()}")


def read_records(runner: Runner, target: Target) -> list[dict[str, Any]]:
    """The records of the target's namespace, newest first."""
    result = runner.at(target).run(kubectl.get_labelled(target, "configmaps", SELECTOR),
                                   idempotent=True)
    if not result.ok:
        raise ClusterError(f"reading history in {target.namespace} failed: "
                           f"{result.error_line()}")
    records = []
    for obj in kubectl.parse_list(result.stdout):
        try:
            record = json.loads((obj.get("data") or {}).get(KEY) or "")
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("id"):
            record["_name"] = obj["metadata"]["name"]
            records.append(record)
    return sorted(records, key=lambda r: (r.get("started") or "", r["id"]), reverse=True)


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
        """The change-cause annotation of a workload this promotion changed."""
        return {CHANGE_CAUSE: change_cause(self.id_for(env), env, list(workload_images.values()))}

    def finish(self, env: Environment, target: Target, result: EnvResult) -> None:
        """Mark what a rollback left as bad, write the record, keep the last N."""
        if self._git is None:
            self._git = git_state(self.runner, self.project_root)
        after = {str(s.ref): s for s in workloads.list_workloads(self.runner, target)}
        marks = self._marks(result, after)
        cleared = list(result.allowed_bad) if result.outcome == "succeeded" else []
        if marks or cleared:
            current = badimages.read(self.runner, target)
            _write(self.runner, kubectl.apply_file, target, badimages.manifest(
                env.namespace, badimages.merged(current, marks, cleared)))
        for mark in marks:
            self.progress.step(env.name, "marked bad", f"{mark.image} ({mark.workload})", "warn")
        for ref in cleared:
            self.progress.step(env.name, "bad mark cleared", f"{ref} passed with --allow-bad")
        record = build_record(result, env, actor_name=self.actor, ci=self.ci, git=self._git,
                              after=after, marked=[m.image for m in marks])
        _write(self.runner, kubectl.create_file, target, manifest(env.namespace, record))
        self.progress.step(env.name, "history", f"recorded {record['id']} ({record['outcome']})")
        self._prune(target)

    def _marks(self, result: EnvResult, after: Mapping[str, WorkloadState]) -> list[
            badimages.Mark]:
        if result.action != "rollback" and result.failure not in IMAGE_FAILURES:
            return []
        now = timestamp()
        reason = result.reason.splitlines()[0][:300] if result.reason else ""
        return [badimages.Mark(image=image,
                               digest=images.digest(image) or result.digests.get(image, ""),
                               workload=workload, marked_at=now, record=result.id,
                               actor=self.actor, reason=reason)
                for workload, image in rolled_away(result, after)]

    def _prune(self, target: Target) -> None:
        stale = read_records(self.runner, target)[self.history_limit:]
        if stale:
            result = self.runner.at(target).run(kubectl.delete(target, "configmaps",
                                                    [r["_name"] for r in stale]))
            if not result.ok:
                raise ClusterError(f"pruning history failed: {result.error_line()}")
