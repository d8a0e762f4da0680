"""What runs where: per environment its workloads and how their rollouts stand, last
promotion, lock holder and how its objects differ from its overlay, then the drift between
adjacent environments (what each would receive from the one before it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import artifacts, audit, images, kinds, overlay_drift, overlay_render, pods
from .errors import ConfigError, PromotionError
from .kubectl import Target, WorkloadRef
from .lock import is_held
from .runner import Runner
from .settings import Environment, Settings
from .snapshot import read_optional, read_snapshot
from .workload_state import WorkloadState

LOCK_LEASE = "globepay-promotion"


def read_lock(runner: Runner, target: Target, name: str = LOCK_LEASE) -> dict[str, Any] | None:
    """The holder of the environment's promotion Lease, or None when there is none."""
    lease = read_optional(runner, target, "lease", name)
    if lease is None or not is_held(lease):
        return None
    spec = lease.get("spec") or {}
    return {"holder": spec.get("holderIdentity") or "unknown holder",
            "since": spec.get("acquireTime") or spec.get("renewTime"),
            "renewed": spec.get("renewTime"),
            "duration_seconds": spec.get("leaseDurationSeconds")}


def _last(records: list[dict]) -> dict[str, Any] | None:
    if not records:
        return None
    keys = ("id", "action", "source", "actor", "started", "finished", "outcome")
    return {key: records[0].get(key) for key in keys}


def rollout_state(obj: dict, objects: Sequence[dict]) -> tuple[str, str]:
    """Where a workload's rollout stands, whatever its ready count: ``rolled out`` (a Job:
    ``complete``), ``progressing`` (``running``) or ``failed``; and why it is not done (its
    failed condition, then each waiting reason its pods report, from ``objects``). "" for a
    workload updated only when its pods are deleted (``OnDelete``): it has no rollout."""
    rules = kinds.of(obj["kind"])
    if ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete":
        return "", ""
    rollout, job = rules.rollout(obj), not rules.rollable
    if rollout.done and not rollout.failed:
        return ("complete" if job else "rolled out"), ""
    stalled = [c for c in (obj.get("status") or {}).get("conditions") or []
               if c.get("type") == "Progressing" and c.get("status") == "False"]
    if stalled:
        why = f"{stalled[0].get('reason')}: {stalled[0].get('message')}"
    else:  # a Job's Failed condition is among its pods' reasons
        why = "" if job else rollout.error.removeprefix("error: ") or rollout.readiness
    reasons = pods.reasons(objects, WorkloadRef(obj["kind"], obj["metadata"]["name"]))
    state = "failed" if rollout.failed else "running" if job else "progressing"
    return state, "; ".join(part for part in (why, *reasons) if part)


def overlay_status(runner: Runner, settings: Settings, env: Environment, target: Target,
                   root: Path) -> dict[str, Any]:
    """How the environment's objects differ from what its overlay renders now
    (`overlay_drift`), or why that could not be told."""
    overlay = Path(env.overlay) if Path(env.overlay).is_absolute() else root / env.overlay
    try:
        rendered = overlay_render.render(runner, settings.kubectl, overlay).rendered
        live = read_snapshot(runner, target, rendered)
    except PromotionError as error:
        return {"overlay": env.overlay, "error": error.message}
    return {"overlay": env.overlay,
            **overlay_drift.differences(rendered.objects, live, env.namespace)}


def environment_status(runner: Runner, settings: Settings, env: Environment,
                       root: Path) -> dict[str, Any]:
    """One environment: workloads (image, digest-pinned reference, ready, revision, rollout
    state; a CronJob's schedule instead), the images it would hand on, its last promotion, its
    lock, and how it differs from its overlay (``root``: the project's directory)."""
    target = settings.target(env)
    live = artifacts.read_live(runner, target)
    objects = [*live.workloads, *live.pods]
    running = live.running()
    digests = {(str(r.workload), r.container): r.digest for r in running}
    rows = []
    for obj in live.workloads:
        state = WorkloadState.from_object(obj)
        rules = kinds.of(obj["kind"])
        schedule = rules.schedule(obj) if isinstance(rules, kinds.CronJobKind) else None
        rollout, reason = rollout_state(obj, objects) if rules.awaited else ("", "")
        rows.append({
            "workload": str(state.ref),
            "images": dict(state.images),
            "digests": {c: digests.get((str(state.ref), c), "") for c in state.images},
            "ready": state.ready,
            "revision": state.revision,
            **({"rollout": rollout, "reason": reason} if rules.awaited else {}),
            **({"schedule": schedule} if schedule is not None else {}),
        })
    try:
        offered: dict[str, str] | str = artifacts.offered(running)
    except ConfigError as error:
        offered = error.message
    return {
        "namespace": env.namespace,
        "context": env.context,
        "host": str(target.remote) if target.remote else None,
        "workloads": rows,
        "images": offered,
        "keep_images": list(env.keep_images),
        "last_promotion": _last(audit.read_records(runner, target)),
        "lock": read_lock(runner, target, settings.lock.name),
        "overlay": overlay_status(runner, settings, env, target, root),
    }


def drift(source: str, dest: str, data: dict[str, Any]) -> dict[str, Any]:
    """What ``dest`` would receive from ``source``: per image name, both references and
    whether they are the same artifact, or kept by ``dest`` as its own. In sync: a promotion
    would change no image (one only one side runs is not promoted)."""
    offered, present = data[source].get("images"), data[dest].get("images")
    if not isinstance(offered, dict) or not isinstance(present, dict):
        problem = next((v for v in (offered, present) if isinstance(v, str)), "not readable")
        return {"from": source, "to": dest, "error": problem, "images": []}
    keep = data[dest].get("keep_images") or []
    rows = []
    for name in sorted(set(offered) | set(present)):
        new, now = offered.get(name), present.get(name)
        kept = now is not None and images.selected(keep, now)
        rows.append({"image": name, "from": new, "to": now, "kept": kept,
                     "same": bool(new and now and images.same_artifact(new, now))})
    return {"from": source, "to": dest, "images": rows,
            "in_sync": all(r["same"] or r["kept"] or None in (r["from"], r["to"]) for r in rows)}


def collect(runner: Runner, settings: Settings, envs: Sequence[Environment],
            root: Path) -> dict[str, Any]:
    """Status of ``envs`` and the drift between each adjacent pair of them (``root``: the
    project's directory, where overlay paths start)."""
    data: dict[str, Any] = {}
    for env in envs:
        try:
            data[env.name] = environment_status(runner, settings, env, root)
        except PromotionError as error:
            data[env.name] = {"namespace": env.namespace, "error": error.message}
    names = [env.name for env in envs]
    pairs = [drift(a, b, data) for a, b in zip(names, names[1:], strict=False)
             if "error" not in data[a] and "error" not in data[b]]
    return {"environments": data, "drift": pairs}


def _promotion_line(last: dict[str, Any] | None) -> str:
    if not last:
        return "last promotion: none recorded"
    source = f" from {last['source']}" if last.get("source") else ""
    return (f"last promotion: {last['id']} {last['action']}{source} by {last['actor']} at "
            f"{last['finished'] or last['started']}: {last['outcome']}")


def _lock_line(lock: dict[str, Any] | None) -> str:
    if not lock:
        return "lock: free"
    return f"lock: held by {lock['holder']} since {lock['since'] or 'an unknown time'}"


def _overlay_lines(info: dict[str, Any]) -> list[str]:
    head = f"  overlay {info['overlay']}:"
    if "error" in info:
        return [f"{head} not compared: {info['error']}"]
    if info["in_sync"]:
        return [f"{head} in sync ({info['compared']} objects)"]
    return [f"{head} {len(info['objects'])} objects differ",
            *(f"    {item['object']}: {item['state']}"
              + (f": {', '.join(item['fields'])}" if item["fields"] else "")
              for item in info["objects"])]


def _image_text(image: str, digest: str) -> str:
    """The image, and the digest its pods report when the image does not pin it."""
    return image if not digest or images.digest(image) else f"{image} ({digest[:19]}...)"


def text_lines(data: dict[str, Any]) -> list[str]:
    """The status as text: one block per environment, then the drift."""
    lines = []
    for name, info in data["environments"].items():
        host = f" on {info['host']}" if info.get("host") else ""
        lines.append(f"== {name} ({info.get('namespace', '?')}){host}")
        if "error" in info:
            lines.append(f"  error: {info['error']}")
            continue
        lines += [f"  {_promotion_line(info['last_promotion'])}", f"  {_lock_line(info['lock'])}",
                  *_overlay_lines(info["overlay"])]
        if not info["workloads"]:
            lines.append("  (no workloads)")
        for row in info["workloads"]:
            refs = ", ".join(_image_text(image, row["digests"].get(container, ""))
                             for container, image in row["images"].items())
            if "schedule" in row:
                lines.append(f"  {row['workload']:<24} schedule {row['schedule']!r} {refs}")
                continue
            lines.append(f"  {row['workload']:<24} {row['ready']:<5} rev {row['revision']:<3} "
                         f"{row['rollout']:<11} {refs}")
            if row["reason"]:
                lines.append(f"    {row['rollout']}: {row['reason']}")
    if data["drift"]:
        lines.append("== drift (what each environment would receive from the one before it)")
    for pair in data["drift"]:
        head = f"  {pair['from']} -> {pair['to']}:"
        if "error" in pair:
            lines.append(f"{head} {pair['error']}")
            continue
        lines.append(f"{head} {'in sync' if pair['in_sync'] else 'differs'}")
        for row in pair["images"]:
            if row["kept"]:
                state = f"kept by {pair['to']}: {row['to']}"
            elif row["from"] is None:
                state = f"only in {pair['to']}: {row['to']}"
            elif row["to"] is None:
                state = f"not in {pair['to']}"
            elif row["same"]:
                state = f"same: {row['to']}"
            else:
                state = f"would change: {row['to']} -> {row['from']}"
            lines.append(f"    {row['image']:<12} {state}")
    return lines
