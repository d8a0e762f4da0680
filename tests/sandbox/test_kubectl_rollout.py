"""``kubectl rollout status/history/undo`` against the simulated Deployment controller."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from globepay_tasks.sandbox import Sandbox

UNDO_WARNING = "Rolling back will not update the kubectl.kubernetes.io/last-applied-configuration"


def _rs_revisions(sandbox: Sandbox, name: str = "web") -> dict[str, dict]:
    found = {}
    for rs in sandbox.list("dev", "apps/v1", "ReplicaSet", "shop"):
        if rs["metadata"]["name"].startswith(f"{name}-"):
            found[rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]] = rs
    return found


def _history(kubectl) -> list[str]:  # noqa: ANN001
    result = kubectl("rollout", "history", "deployment/web", "-n", "shop")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "deployment.apps/web"
    assert lines[1].split() == ["REVISION", "CHANGE-CAUSE"]
    return [line.split()[0] for line in lines[2:] if line.strip()]


def test_status_success_on_create_and_update(sandbox: Sandbox, kubectl, shop: Path) -> None:
    assert kubectl("apply", "-k", str(shop / "base")).returncode == 0
    first = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert kubectl("apply", "-k", str(shop / "v2")).returncode == 0
    second = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'
    web = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    status = web["status"]
    assert status["observedGeneration"] == web["metadata"]["generation"] == 2
    assert status["replicas"] == status["updatedReplicas"] == status["availableReplicas"] == 2
    assert {c["type"]: c["reason"] for c in status["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
    revisions = _rs_revisions(sandbox)
    assert sorted(revisions) == ["1", "2"]
    assert revisions["1"]["spec"]["replicas"] == 0
    assert revisions["2"]["spec"]["replicas"] == 2
    assert web["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    owner = revisions["2"]["metadata"]["ownerReferences"][0]
    assert owner == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                     "uid": web["metadata"]["uid"], "controller": True,
                     "blockOwnerDeletion": True}
    hash_label = revisions["2"]["metadata"]["labels"]["pod-template-hash"]
    assert revisions["2"]["metadata"]["name"] == f"web-{hash_label}"
    assert revisions["2"]["spec"]["selector"]["matchLabels"]["pod-template-hash"] == hash_label


def test_status_timeout_and_progress_deadline(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    kubectl("apply", "-k", str(shop / "slow"))
    timed_out = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=1s")
    assert timed_out.returncode == 1
    assert timed_out.stderr.strip().endswith("error: timed out waiting for the condition")
    kubectl("apply", "-k", str(shop / "broken"))
    deadline = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    assert deadline.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in deadline.stderr
    progressing = {c["type"]: c for c in sandbox.get(
        "dev", "apps/v1", "Deployment", "shop", "web")["status"]["conditions"]}["Progressing"]
    assert progressing["status"] == "False"
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    assert progressing["message"].endswith("has timed out progressing.")
    # the old ReplicaSet keeps serving
    assert _rs_revisions(sandbox)["1"]["status"]["availableReplicas"] == 2


def test_status_of_a_missing_deployment(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    result = kubectl("rollout", "status", "deployment/nope", "-n", "shop", "--timeout=5s")
    assert result.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in result.stderr


def test_history_undo_renumbers_revisions(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    kubectl("apply", "-k", str(shop / "v2"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert _history(kubectl) == ["1", "2"]
    kubectl("apply", "-k", str(shop / "broken"))
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop",
                   "--timeout=30s").returncode == 1

    undo = kubectl("rollout", "undo", "deployment/web", "-n", "shop")
    assert undo.returncode == 0, undo.stderr
    assert undo.stdout.strip() == "deployment.apps/web rolled back"
    if "1.37" in kubectl.binary or kubectl.binary.endswith("kubectl"):
        assert UNDO_WARNING in undo.stderr
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop",
                   "--timeout=20s").returncode == 0
    assert _history(kubectl) == ["1", "3", "4"]
    image = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")["spec"]["template"][
        "spec"]["containers"][0]["image"]
    assert image == "nginx:1.26"
    assert _rs_revisions(sandbox)["4"]["metadata"]["annotations"][
        "deployment.kubernetes.io/revision-history"] == "2"

    detail = kubectl("rollout", "history", "deployment/web", "-n", "shop", "--revision=1")
    assert detail.returncode == 0
    assert "deployment.apps/web with revision #1" in detail.stdout
    assert "Image:\tnginx:1.25" in detail.stdout

    to_one = kubectl("rollout", "undo", "deployment/web", "-n", "shop", "--to-revision=1")
    assert to_one.returncode == 0, to_one.stderr
    assert kubectl("rollout", "status", "deployment/web", "-n", "shop",
                   "--timeout=20s").returncode == 0
    assert _history(kubectl) == ["3", "4", "5"]

    missing = kubectl("rollout", "undo", "deployment/web", "-n", "shop", "--to-revision=99")
    assert missing.returncode == 1
    assert "error: unable to find specified revision 99 in history" in missing.stderr
    same = kubectl("rollout", "undo", "deployment/web", "-n", "shop", "--to-revision=5")
    assert same.returncode == 0
    assert "deployment.apps/web skipped rollback (current template already matches revision 5)" \
        in same.stdout


def test_undo_without_history(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/api", "-n", "shop", "--timeout=20s")
    result = kubectl("rollout", "undo", "deployment/api", "-n", "shop")
    assert result.returncode == 1
    assert 'error: no rollout history found for deployment "api"' in result.stderr


def test_change_cause_is_copied_to_the_replicaset(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("annotate", "deployment/web", "-n", "shop", "kubernetes.io/change-cause=release 7")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    result = kubectl("rollout", "history", "deployment/web", "-n", "shop")
    assert result.stdout.splitlines()[2].split(None, 1) == ["1", "release 7"]


def test_scaling_is_not_a_new_revision(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    kubectl("scale", "deployment/web", "-n", "shop", "--replicas=3")
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    assert _history(kubectl) == ["1"]
    assert sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")["status"][
        "availableReplicas"] == 3


def test_template_changes_and_revision_history_limit(sandbox: Sandbox, kubectl, shop: Path) -> None:
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("patch", "deployment/web", "-n", "shop", "-p", '{"spec":{"revisionHistoryLimit":1}}')
    for i in range(3):
        assert kubectl("set", "env", "deployment/web", "-n", "shop", f"N={i}").returncode == 0
        assert kubectl("rollout", "status", "deployment/web", "-n", "shop",
                       "--timeout=20s").returncode == 0
    assert sorted(_rs_revisions(sandbox)) == ["3", "4"]  # one old revision kept


def _until(check: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_status_reports_each_rollout_step(tmp_path: Path, kubectl_any: str, shop: Path,
                                          kubectl_runner) -> None:
    """On a clock that only the test moves, kubectl sees every intermediate state."""
    # rollouts of 8 simulated seconds: pods at +4, ready at +8 (progress deadline: 10)
    with Sandbox(tmp_path / "kc", clusters=("dev",), rollout_seconds=8,
                 time_scale=1e-6) as sb:
        def web() -> dict:
            return sb.get("dev", "apps/v1", "Deployment", "shop", "web") or {}

        def sets_observed() -> bool:
            sets = sb.list("dev", "apps/v1", "ReplicaSet", "shop")
            return bool(sets) and all("status" in rs for rs in sets)

        assert kubectl_runner(sb, "apply", "-k", str(shop / "base"),
                              kubectl=kubectl_any).returncode == 0
        while web().get("status", {}).get("availableReplicas") != 2:
            _until(sets_observed)
            sb.advance(4)
            time.sleep(0.02)
        kubectl_runner(sb, "set", "image", "deployment/web", "-n", "shop", "web=nginx:1.26",
                       kubectl=kubectl_any)
        _until(lambda: web()["status"].get("observedGeneration") == 2
               and len(_rs_revisions(sb)) == 2 and sets_observed())
        env = {**os.environ, "KUBECACHEDIR": str(tmp_path / "kubecache")}
        proc = subprocess.Popen(
            [kubectl_any, "--kubeconfig", str(sb.kubeconfig), "--context", sb.context("dev"),
             "rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            _until(lambda: sb.store("dev").watcher_count >= 1)
            sb.advance(4)
            _until(lambda: web()["status"].get("updatedReplicas") == 2)
            sb.advance(4)
            out, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines() == [
        'Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been '
        'updated...',
        'Waiting for deployment "web" rollout to finish: 2 old replicas are pending '
        'termination...',
    ] + out.splitlines()[2:]
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
