"""``kubectl diff -k`` and server-side apply."""

from __future__ import annotations

from pathlib import Path

from globepay_tasks.sandbox import Sandbox


def test_diff_exit_codes(sandbox: Sandbox, kubectl, shop: Path) -> None:
    # as on a real cluster: the dry-run create of objects in a namespace not yet there fails
    before_namespace = kubectl("diff", "-k", str(shop / "base"))
    assert before_namespace.returncode == 2
    assert 'Error from server (NotFound): namespaces "shop" not found' in before_namespace.stderr
    assert sandbox.get("dev", "v1", "Namespace", None, "shop") is None
    kubectl("apply", "-k", str(shop / "base"))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    sandbox.clear_requests()
    same = kubectl("diff", "-k", str(shop / "base"))
    assert same.returncode == 0, same.stderr
    assert same.stdout == ""
    changed = kubectl("diff", "-k", str(shop / "v2"))
    assert changed.returncode == 1, changed.stderr
    assert "-  generation: 1\n+  generation: 2" in changed.stdout
    assert "-        image: nginx:1.25\n+        image: nginx:1.26" in changed.stdout
    assert "apps.v1.Deployment.shop.web" in changed.stdout
    assert "resourceVersion" not in [line[1:].split(":")[0].strip()
                                     for line in changed.stdout.splitlines()
                                     if line.startswith(("+ ", "- "))]
    assert sandbox.writes() == []  # only dryRun=All patches
    assert any(r.query.get("dryRun") == "All" for r in sandbox.requests)
    build_error = kubectl("diff", "-k", str(shop / "does-not-exist"))
    assert build_error.returncode > 1


def test_diff_new_object_in_a_missing_namespace(sandbox: Sandbox, kubectl, shop: Path) -> None:
    (shop / "svc-only").mkdir()
    (shop / "svc-only" / "service.yaml").write_text((shop / "base" / "service.yaml").read_text())
    (shop / "svc-only" / "kustomization.yaml").write_text("resources:\n- service.yaml\n")
    result = kubectl("diff", "-k", str(shop / "svc-only"))
    assert result.returncode > 1
    assert 'namespaces "shop" not found' in result.stderr


def test_server_side_apply_and_diff(sandbox: Sandbox, kubectl, shop: Path) -> None:
    created = kubectl("apply", "--server-side", "-k", str(shop / "base"))
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [
        "namespace/shop serverside-applied", "service/web serverside-applied",
        "deployment.apps/api serverside-applied", "deployment.apps/web serverside-applied"]
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    updated = kubectl("apply", "--server-side", "-k", str(shop / "v2"))
    assert updated.returncode == 0, updated.stderr
    status = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    web = sandbox.get("dev", "apps/v1", "Deployment", "shop", "web")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert web["metadata"]["generation"] == 2
    patches = [r for r in sandbox.requests if r.content_type == "application/apply-patch+yaml"]
    assert {r.query.get("fieldManager") for r in patches} >= {"kubectl"}
    no_change = kubectl("diff", "--server-side", "-k", str(shop / "v2"))
    assert no_change.returncode == 0, no_change.stdout + no_change.stderr
    back = kubectl("diff", "--server-side", "-k", str(shop / "base"))
    assert back.returncode == 1
    assert "+        image: nginx:1.25" in back.stdout


def test_server_side_apply_removes_fields_it_stopped_applying(sandbox: Sandbox, kubectl) -> None:
    with_label = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: default\n"
                  "  labels: {team: a}\ndata: {a: '1', b: '2'}\n")
    assert kubectl("apply", "--server-side", "-f", "-", input=with_label).returncode == 0
    without = with_label.replace("  labels: {team: a}\n", "").replace(", b: '2'", "")
    assert kubectl("apply", "--server-side", "-f", "-", input=without).returncode == 0
    cfg = sandbox.get("dev", "v1", "ConfigMap", "default", "cfg")
    assert cfg["data"] == {"a": "1"}
    assert "team" not in (cfg["metadata"].get("labels") or {})
