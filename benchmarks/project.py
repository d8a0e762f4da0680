"""A generated benchmark project: W workloads per environment, a sandbox, a counting kubectl.

The project lives in a temporary directory: ``tasks.py``, ``invoke.yaml`` (no-op hooks, the
sandbox's kubeconfig and contexts), ``k8s/base`` with W Deployments and one overlay per
environment that pins every image's tag. :meth:`BenchProject.set_tag` rewrites the overlays
so that the next promotion changes every workload (as a new release would). With ``extras``,
each workload also has a Service and a ConfigMap carrying the release's tag (``k8s/extras``),
which a release can leave out: the next promotion prunes them. With ``app``, the overlays are
an application's: beside each Deployment a ConfigMap carrying the release's tag, a Secret and a
Service (four objects per workload, ``k8s/app``), and a ``pre-deploy`` migration Job with a
generated ConfigMap (as ``migration``), the Job and its ConfigMap labelled
``bench.globepay.dev/phase: pre-deploy`` so that the baseline script can apply them first.

``kubectl`` in the configuration is a wrapper that logs each start (wall time and argv) to
``kubectl.log`` and then execs the real binary, so kubectl processes can be counted per
environment from the ``--context`` they were given.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from globepay_tasks import kinds
from globepay_tasks.sandbox import Sandbox

ENVS = ("dev", "staging", "prod")
REGISTRY = "registry.globepay.dev/bench"
BIN = Path(sys.executable).parent


def real_kubectl() -> str:
    found = shutil.which("kubectl", path=str(BIN))
    if not found:
        raise SystemExit(f"no kubectl in {BIN}: install the project with its test extras")
    return found


def workload_names(count: int) -> list[str]:
    return [f"svc-{index:02d}" for index in range(count)]


def _deployment(name: str, deadline: int, app: bool = False) -> dict:
    labels = {"app": name}
    container: dict = {"name": name, "image": f"{REGISTRY}/{name}:0"}
    if app:  # reads its ConfigMap and Secret (`_app_objects`)
        container["envFrom"] = [{"configMapRef": {"name": f"{name}-config"}},
                                {"secretRef": {"name": f"{name}-credentials"}}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container]},
            },
        },
    }


#: Seconds the migration Job runs in the sandbox (its pod template's annotation).
MIGRATION_SECONDS = 1.0
#: The label the baseline script selects the pre-deploy objects by (``kubectl apply -l``).
PHASE_LABEL = "bench.globepay.dev/phase"


def _migration(workload: str) -> dict:
    """A pre-deploy Job running ``workload``'s image (so each release replaces it)."""
    container = {"name": "migrate", "image": f"{REGISTRY}/{workload}:0", "command": ["true"],
                 "envFrom": [{"configMapRef": {"name": "migrate-settings"}}]}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "labels": {PHASE_LABEL: "pre-deploy"},
                     "annotations": {"globepay.dev/phase": "pre-deploy"}},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"annotations": {
                "sandbox.globepay.dev/rollout-seconds": str(MIGRATION_SECONDS)}},
            "spec": {"restartPolicy": "Never", "containers": [container]}}},
    }


#: What a release leaves out of the extra objects: nothing, those of every second workload,
#: all of them (no Service at all: a kind the ApplySet holds is no longer rendered).
DROPS = ("", "some", "all")


def _extras(names: list[str], tag: str) -> list[dict]:
    """A Service per workload, and a ConfigMap per workload that each release changes."""
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                 "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}
                for name in names]
    settings = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-settings"},
                 "data": {"RELEASE": tag}} for name in names]
    return services + settings


def _app_objects(names: list[str], tag: str) -> list[dict]:
    """Beside each workload: a ConfigMap carrying the release's tag (each release changes
    it), a Secret and a Service."""
    objects: list[dict] = []
    for name in names:
        objects += [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-config"},
             "data": {"RELEASE": tag, "LOG_LEVEL": "info"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-credentials"},
             "type": "Opaque", "stringData": {"TOKEN": f"{name}-token"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
             "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}},
        ]
    return objects


def _dump(path: Path, documents: list[dict] | dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(documents, list):
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    else:
        path.write_text(yaml.safe_dump(documents, sort_keys=False))


@dataclass
class Timeline:
    """Wall-clock moments the sandbox saw, per cluster (filled by a store listener)."""

    rollout_started: dict[str, float] = field(default_factory=dict)
    complete: dict[str, dict[str, float]] = field(default_factory=dict)
    deadline_exceeded: dict[str, float] = field(default_factory=dict)
    template_writes: dict[str, list[float]] = field(default_factory=dict)

    def clear(self) -> None:
        self.rollout_started.clear()
        self.complete.clear()
        self.deadline_exceeded.clear()
        self.template_writes.clear()


def _complete(obj: dict) -> bool:
    """The Deployment has rolled out, by ``kubectl rollout status``'s rules."""
    verdict = kinds.DEPLOYMENT.rollout(obj)
    return verdict.done and not verdict.failed


def _deadline_exceeded(obj: dict) -> bool:
    return kinds.DEPLOYMENT.rollout(obj).failed


class BenchProject:
    """The generated project and the in-process sandbox it promotes to."""

    def __init__(self, root: Path, workloads: int, rollout_seconds: float, *,
                 deadline: int = 600, broken_deadline: int | None = None,
                 keep: dict[str, list[str]] | None = None, migration: bool = False,
                 extras: bool = False, app: bool = False) -> None:
        self.root = root
        self.workloads = workload_names(workloads)
        self.rollout_seconds = rollout_seconds
        self.deadline = deadline
        self.broken_deadline = broken_deadline
        #: env -> images it keeps as its own overlay sets them (not received from the one before)
        self.keep = keep or {}
        #: an application's overlay: a ConfigMap, a Secret and a Service beside each workload
        #: (`_app_objects`), and the migration Job
        self.app = app
        #: a pre-deploy migration Job on the first workload's image, with a generated ConfigMap
        self.migration = migration or app
        #: a Service and a ConfigMap per workload (`_extras`), rendered unless a release drops them
        self.extras = extras
        #: seconds the cluster itself takes per environment before the workloads roll out
        self.job_seconds = MIGRATION_SECONDS if self.migration else 0.0
        self.kubectl_log = root / "kubectl.log"
        self.cache = root / "kubecache"
        self.timeline = Timeline()
        self.sandbox = Sandbox(root / "kubeconfig", clusters=ENVS,
                               rollout_seconds=rollout_seconds, time_scale=1.0)
        self.tag = "0"

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> BenchProject:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sandbox.start()
        for env in ENVS:
            self.sandbox.store(env).subscribe(lambda event, env=env: self._on_event(env, event))
        self._write_files()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sandbox.stop()

    # --- files ---------------------------------------------------------------------------

    def _write_files(self) -> None:
        wrapper = self.root / "bin" / "kubectl"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        wrapper.write_text(
            "#!/bin/bash\n"
            f"printf '%s %s\\n' \"$EPOCHREALTIME\" \"$*\" >> {self.kubectl_log}\n"
            f"exec {real_kubectl()} \"$@\"\n")
        wrapper.chmod(0o755)
        (self.root / "tasks.py").write_text("from globepay_tasks.tasks import ns  # noqa: F401\n")
        noop = [{"run": "true", "name": "no-op"}]
        environments = {
            env: {"context": self.sandbox.context(env), "timeout": 300, "confirm": env == "prod",
                  "pre_promotion": noop, "post_promotion": noop,
                  "keep_images": self.keep.get(env, [])}
            for env in ENVS
        }
        config = {"globepay": {"kubectl": str(wrapper), "kubeconfig": str(self.sandbox.kubeconfig),
                               "order": list(ENVS), "environments": environments}}
        _dump(self.root / "invoke.yaml", config)
        base = self.root / "k8s" / "base"
        for name in self.workloads:
            _dump(base / f"{name}.yaml", _deployment(name, self.deadline, self.app))
        kustomization: dict = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [f"{name}.yaml" for name in self.workloads]}
        if self.migration:
            _dump(base / "migrate.yaml", _migration(self.workloads[0]))
            kustomization["resources"].append("migrate.yaml")
            kustomization["configMapGenerator"] = [
                {"name": "migrate-settings", "literals": ["MODE=online"],
                 "options": {"labels": {PHASE_LABEL: "pre-deploy"}}}]
        _dump(base / "kustomization.yaml", kustomization)
        self.set_tag("0")

    def overlay(self, env: str) -> Path:
        return self.root / "k8s" / "overlays" / env

    def set_tag(self, tag: str, *, broken: dict[str, str] | None = None,
                drop: str = "") -> None:
        """Pin every workload's image to ``tag`` in every overlay (``broken``: env -> the
        workload whose image cannot start there, with the short progress deadline;
        ``drop``: which extra objects the overlays leave out, one of `DROPS`)."""
        self.tag = tag
        broken = broken or {}
        resources = ["namespace.yaml", "../../base"]
        if self.extras and drop != "all":
            names = self.workloads[::2] if drop == "some" else self.workloads
            _dump(self.root / "k8s" / "extras" / "extras.yaml", _extras(names, tag))
            _dump(self.root / "k8s" / "extras" / "kustomization.yaml", {
                "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "resources": ["extras.yaml"]})
            resources.append("../../extras")
        if self.app:
            _dump(self.root / "k8s" / "app" / "app.yaml", _app_objects(self.workloads, tag))
            _dump(self.root / "k8s" / "app" / "kustomization.yaml", {
                "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "resources": ["app.yaml"]})
            resources.append("../../app")
        for env in ENVS:
            images = [{"name": f"{REGISTRY}/{name}",
                       "newTag": f"{tag}-broken" if broken.get(env) == name else tag}
                      for name in self.workloads]
            kustomization = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "namespace": f"globepay-{env}",
                "resources": resources,
                "images": images,
            }
            if env in broken and self.broken_deadline is not None:
                kustomization["patches"] = [{
                    "target": {"kind": "Deployment", "name": broken[env]},
                    "patch": json.dumps([{"op": "replace", "path": "/spec/progressDeadlineSeconds",
                                          "value": self.broken_deadline}]),
                }]
            namespace = {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": f"globepay-{env}"}}
            _dump(self.overlay(env) / "namespace.yaml", namespace)
            _dump(self.overlay(env) / "kustomization.yaml", kustomization)

    # --- running -------------------------------------------------------------------------

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KUBECACHEDIR=str(self.cache), NO_COLOR="1",
                   PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                   BENCH_KUBECTL=str(self.root / "bin" / "kubectl"),
                   BENCH_KUBECONFIG=str(self.sandbox.kubeconfig),
                   BENCH_PRE_DEPLOY="1" if self.migration else "")
        for key in [k for k in env if k.startswith("INVOKE_")]:
            env.pop(key)
        return env

    def kubectl_calls(self) -> list[tuple[float, str]]:
        """(wall time, argv) of every kubectl started since the log was last cleared."""
        if not self.kubectl_log.exists():
            return []
        calls = []
        for line in self.kubectl_log.read_text().splitlines():
            stamp, _, argv = line.partition(" ")
            calls.append((float(stamp), argv))
        return calls

    def clear_log(self) -> None:
        self.kubectl_log.unlink(missing_ok=True)
        self.timeline.clear()

    def wait_settled(self, timeout: float = 120) -> None:
        """Until every workload of every environment has rolled out (between runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.settled(env) for env in ENVS):
                return
            time.sleep(0.05)
        raise RuntimeError("the sandbox did not settle")

    def settled(self, env: str) -> bool:
        items = self.sandbox.list(env, "apps/v1", "Deployment", f"globepay-{env}")
        return len(items) == len(self.workloads) and all(_complete(obj) for obj in items)

    # --- sandbox events ------------------------------------------------------------------

    def _on_event(self, env: str, event) -> None:
        if event.rt.kind != "Deployment" or event.type == "DELETED":
            return
        now = time.time()
        obj, old = event.obj, event.old or {}
        name = obj["metadata"]["name"]
        timeline = self.timeline
        template = (obj.get("spec") or {}).get("template")
        if old and template != (old.get("spec") or {}).get("template"):
            timeline.template_writes.setdefault(env, []).append(now)
            timeline.rollout_started.setdefault(env, now)
            timeline.complete.setdefault(env, {}).pop(name, None)
        done = timeline.complete.setdefault(env, {})
        if name not in done and _complete(obj):
            done[name] = now
        if _deadline_exceeded(obj) and env not in timeline.deadline_exceeded:
            timeline.deadline_exceeded[env] = now

    def cluster_done(self, env: str) -> float | None:
        """When the last workload of ``env`` finished rolling out (wall time)."""
        done = self.timeline.complete.get(env, {})
        if len(done) < len(self.workloads):
            return None
        return max(done.values())
