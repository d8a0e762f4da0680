"""``invoke sandbox.up``, ``sandbox.status`` and ``sandbox.down`` for a project whose
environments are not dev/staging/prod (invoke -> the background sandbox -> the real kubectl)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import INVOKE, output


def overlay_copy(project, source: str, env: str) -> None:
    """k8s/overlays/<env>: a copy of ``source``'s overlay deploying to globepay-<env>."""
    overlay = project.root / "k8s" / "overlays" / env
    shutil.copytree(project.root / "k8s" / "overlays" / source, overlay)
    for name in ("kustomization.yaml", "namespace.yaml"):
        path = overlay / name
        path.write_text(path.read_text().replace(f"globepay-{source}", f"globepay-{env}"))


@pytest.mark.sandbox_only("starts a sandbox of its own")
def test_sandbox_up_serves_the_configured_environments(project):
    overlay_copy(project, "dev", "qa")
    overlay_copy(project, "prod", "live")
    (project.root / "invoke.yaml").write_text(yaml.safe_dump({"globepay": {
        "order": ["qa", "live"],
        "environments": {"qa": {"overlay": "k8s/overlays/qa", "timeout": 60},
                         "live": {"overlay": "k8s/overlays/live", "context": "live-cluster",
                                  "timeout": 60}}}}))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([INVOKE, *args], cwd=project.root, env=project.environ(),
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    up = run("sandbox.up", "--rollout-seconds", "1", "--time-scale", "20")
    assert up.returncode == 0, output(up)
    try:
        assert "  qa: context globepay-qa, qa in namespace globepay-qa" in up.stdout
        assert "  live: context live-cluster, live in namespace globepay-live" in up.stdout
        kubeconfig = yaml.safe_load((project.root / ".sandbox" / "kubeconfig").read_text())
        assert [c["name"] for c in kubeconfig["contexts"]] == ["globepay-qa", "live-cluster"]

        deployed = run("-f", ".sandbox/invoke.yaml", "deploy-all", "--yes")
        assert deployed.returncode == 0, output(deployed)
        assert [line.split()[:2] for line in deployed.stdout.splitlines()
                if line.startswith(("qa ", "live "))][-2:] == [["qa", "succeeded"],
                                                              ["live", "succeeded"]]

        text = run("sandbox.status")
        assert text.returncode == 0, output(text)
        lines = text.stdout.splitlines()
        assert lines[0].startswith("sandbox running: pid ")
        assert "time scale 20x" in lines[0] and "up since 20" in lines[0]
        assert lines[1].startswith("  qa: context globepay-qa, http://127.0.0.1:")
        assert lines[1].endswith("/clusters/qa, qa in namespace globepay-qa")
        assert lines[2].endswith("/clusters/live, live in namespace globepay-live")
        assert len(lines) == 3, text.stdout

        data = json.loads(run("sandbox.status", "--json").stdout)
        assert data["running"] and data["time_scale"] == 20 and data["not_served"] == []
        assert [(c["name"], c["context"], c["environments"]) for c in data["clusters"]] == [
            ("qa", "globepay-qa", [{"name": "qa", "namespace": "globepay-qa"}]),
            ("live", "live-cluster", [{"name": "live", "namespace": "globepay-live"}])]

        path = project.root / ".sandbox" / "kubeconfig"
        path.write_text(path.read_text().replace(data["url"].split("//")[1], "127.0.0.1:1"))
        silent = run("sandbox.status")
        assert silent.returncode == 1 and silent.stdout == "", output(silent)
        assert silent.stderr.startswith("error: the sandbox does not answer at "
                                        "http://127.0.0.1:1/_sandbox: "), silent.stderr
        assert silent.stderr.endswith(f"(pid {data['pid']}; stop it with invoke "
                                      "sandbox.down)\n"), silent.stderr
    finally:
        down = run("sandbox.down")
    assert down.returncode == 0, output(down)
    stopped = run("sandbox.status")
    assert stopped.stdout.startswith("sandbox is not running"), output(stopped)
