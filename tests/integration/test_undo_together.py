"""A failed rollout undoes every workload the run changed, several per kubectl call."""

from __future__ import annotations

from conftest import REGISTRY, output

BACKEND = f"{REGISTRY}/backend"
FRONTEND = f"{REGISTRY}/frontend"


def test_every_changed_workload_is_undone_in_one_kubectl_call(project, tmp_path):
    log = tmp_path / "kubectl.log"
    wrapper = tmp_path / "kubectl"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {project.kubectl_bin} "$@"\n')
    wrapper.chmod(0o755)
    project.settings["kubectl"] = str(wrapper)
    assert project.invoke("deploy-dev").returncode == 0
    before = {name: project.image("dev", name) for name in ("backend", "frontend")}
    revisions = {name: project.revision("dev", name) for name in ("backend", "frontend")}
    if project.sandbox:
        project.sandbox.clear_requests()
    log.unlink()

    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:9.9.9-broken",
                            "--image", f"frontend={FRONTEND}:1.6.0")

    assert result.returncode == 2, output(result)
    text = output(result)
    for name in ("backend", "frontend"):
        assert project.image("dev", name) == before[name]
        assert f"deployment/{name} rolled back to revision {revisions[name]}" in text
    if project.sandbox:  # one JSON patch per workload, seen in the sandbox's request log
        undo_patches = [r for r in project.writes("dev") if r.method == "PATCH"
                        and r.content_type == "application/json-patch+json"]
        assert sorted(r.path.rsplit("/", 1)[-1] for r in undo_patches) == ["backend", "frontend"]
    undo_calls = [line for line in log.read_text().splitlines() if " rollout undo " in line]
    assert len(undo_calls) == 1
