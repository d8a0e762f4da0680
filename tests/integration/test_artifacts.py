"""Artifact promotion end to end: carried digests, promote, verification, history, known-bad
images, status and drift (invoke -> real kubectl -> the sandbox or a real cluster)."""

from __future__ import annotations

import json
import re
import subprocess

from conftest import REGISTRY, output, report

BACKEND = f"{REGISTRY}/backend"
FRONTEND = f"{REGISTRY}/frontend"


def digest(project, env: str, name: str) -> str:
    """The digest the pods of deployment ``name`` report in their imageID (all the same;
    pods on their way out left aside)."""
    pods = project.cluster.list(env, "v1", "Pod", project.namespace(env))
    found = {s["imageID"].rsplit("@", 1)[1] for p in pods
             if p["metadata"]["labels"].get("app.kubernetes.io/name") == name
             and not p["metadata"].get("deletionTimestamp")
             for s in p["status"]["containerStatuses"]}
    assert len(found) == 1, found
    return found.pop()


def history(project, env: str) -> dict:
    result = project.invoke("history", "--env", env, "--json")
    assert result.returncode == 0, output(result)
    return json.loads(result.stdout)


def git(root, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c",
                    "user.name=t", *args], check=True, capture_output=True)


def test_deploy_all_carries_the_digest_dev_ran_and_keeps_env_specific_images(
        project, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    project.env_settings("prod")["keep_images"] = ["frontend"]
    path = tmp_path / "report.json"
    result = project.invoke("deploy-all", "--yes", "--image", f"backend={BACKEND}:1.6.0",
                            "--report", str(path))
    assert result.returncode == 0, output(result)

    assert project.image("dev", "backend") == f"{BACKEND}:1.6.0"
    pinned = f"{BACKEND}:1.6.0@{digest(project, 'dev', 'backend')}"
    assert project.image("staging", "backend") == project.image("prod", "backend") == pinned
    assert digest(project, "prod", "backend") == digest(project, "dev", "backend")
    assert project.image("staging", "frontend") == (
        f"{FRONTEND}:1.5.0@{digest(project, 'dev', 'frontend')}")
    shown = f"backend:1.6.0@{digest(project, 'dev', 'backend')[:19]}"  # tag and digest
    assert re.search(rf"\nprod +succeeded .*{shown}, frontend:1.4.0 ", result.stdout)
    assert project.image("prod", "frontend") == f"{FRONTEND}:1.4.0"  # the prod overlay's own
    assert "keeps its own frontend" in output(result)
    assert [e["outcome"] for e in report(path)["environments"]] == ["succeeded"] * 3

    records = history(project, "prod")["records"]
    assert len(records) == 1
    record = records[0]
    assert (record["action"], record["source"], record["outcome"]) == (
        "promote", "staging", "succeeded")
    assert record["images_after"]["deployment/backend"] == {"backend": pinned}
    assert record["revisions_after"] == {"deployment/backend": "1", "deployment/frontend": "1"}
    assert "@" in record["actor"] and record["git"] == {"commit": None, "dirty": None}
    assert [h["ok"] for h in record["hooks"]] == [True] * 4
    prod_report = report(path)["environments"][2]
    assert (prod_report["record"], prod_report["source"]) == (record["id"], "staging")

    rollout = project.kubectl("prod", "-n", project.namespace("prod"), "rollout", "history",
                              "deployment/backend")
    assert rollout.returncode == 0, rollout.stderr
    assert f"globepay {record['id']} prod: {pinned}" in rollout.stdout


def test_a_bad_overlay_tag_a_chain_does_not_apply_is_not_refused(project):
    """staging's overlay tag is marked bad in staging, but deploy-all gives staging what dev
    runs: the chain's preflight checks what each environment will receive, not its tags."""
    assert project.invoke("deploy-dev").returncode == 0
    first = project.invoke("deploy-staging", "--overlay-images", "--image",
                           f"backend={BACKEND}:1.4.0")
    assert first.returncode == 0, output(first)
    project.env_settings("staging")["post_promotion"] = ["exit 1"]
    failed = project.invoke("deploy-staging", "--overlay-images")
    assert failed.returncode == 3, output(failed)
    assert f"marked bad: {BACKEND}:1.4.1" in output(failed)
    del project.env_settings("staging")["post_promotion"]

    result = project.invoke("deploy-all", "--yes")

    assert result.returncode == 0, output(result)
    assert project.image("staging", "backend").startswith(f"{BACKEND}:1.5.0@sha256:")


def test_deploy_staging_after_deploy_all_is_no_downgrade(project):
    """deploy-staging and deploy --env prod give each environment what the one before it
    runs, digest-pinned, as deploy-all did: nothing changes; tag and digest shown together."""
    assert project.invoke("deploy-all", "--yes").returncode == 0
    names = ("backend", "frontend")
    handed = {env: {name: project.image(env, name) for name in names}
              for env in ("staging", "prod")}
    dev = {name: digest(project, "dev", name) for name in names}
    assert handed["staging"] == handed["prod"] == {
        name: f"{REGISTRY}/{name}:1.5.0@{dev[name]}" for name in names}

    staging = project.invoke("deploy-staging")
    prod = project.invoke("deploy", "--env", "prod", "--yes")

    for env, result, source in (("staging", staging, "dev"), ("prod", prod, "staging")):
        assert result.returncode == 0, output(result)
        assert {name: project.image(env, name) for name in names} == handed[env]
        assert project.revision(env, "backend") == "1"
        assert f"images from {source}: backend={handed[env]['backend']}, " in result.stdout
        assert "0 to change, 0 to create" in result.stdout
        assert f"backend:1.5.0@{dev['backend'][:19]}, frontend:1.5.0@" in result.stdout
        record = history(project, env)["records"][0]
        assert (record["action"], record["source"]) == ("promote", source)
    assert f"{BACKEND}:1.5.0@{dev['backend']}" in project.invoke("status").stdout


def test_overlay_images_applies_the_overlay_tags_and_marks_what_differs(project):
    assert project.invoke("deploy-all", "--yes").returncode == 0
    dev = {name: f"1.5.0@{digest(project, 'dev', name)[:19]}" for name in ("backend", "frontend")}

    result = project.invoke("deploy-staging", "--overlay-images")

    assert result.returncode == 0, output(result)
    assert project.image("staging", "backend") == f"{BACKEND}:1.4.1"
    assert "images from dev" not in result.stdout
    for name, shown in dev.items():
        assert (f"plan: deployment/{name}: change, {name} {shown} -> 1.4.1, dev runs {name} "
                f"{shown} [deploy]") in result.stdout, output(result)
    dry = project.invoke("deploy-staging", "--overlay-images", "--dry-run")
    assert dry.returncode == 0, output(dry)
    assert (f"plan: deployment/backend: unchanged, dev runs backend {dev['backend']} [deploy]"
            in dry.stdout), output(dry)


def test_promote_staging_to_prod_with_status_and_drift(project, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "release-bot")
    project.env_settings("prod")["keep_images"] = ["frontend"]
    project.write_config()
    git(project.root, "init", "-q")
    git(project.root, "add", ".")
    git(project.root, "commit", "-qm", "initial")
    assert project.invoke("deploy-dev").returncode == 0
    assert history(project, "dev")["records"][0]["git"]["dirty"] is False
    result = project.invoke("deploy-staging", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    assert project.invoke("deploy-prod", "--yes", "--overlay-images").returncode == 0
    project.cluster.put("prod", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "globepay-promotion", "namespace": project.namespace("prod")},
        "spec": {"holderIdentity": "alice@laptop", "leaseDurationSeconds": 600}})

    result = project.invoke("status", "--json")
    assert result.returncode == 0, output(result)
    data = json.loads(result.stdout)
    assert list(data["environments"]) == ["dev", "staging", "prod"]
    assert {name: (env["overlay"]["in_sync"], {row["rollout"] for row in env["workloads"]})
            for name, env in data["environments"].items()} == {
        env: (True, {"rolled out"}) for env in ("dev", "staging", "prod")}
    prod = data["environments"]["prod"]
    assert prod["lock"]["holder"] == "alice@laptop"
    assert prod["last_promotion"]["actor"] == "release-bot"
    rows = {r["workload"]: r for r in prod["workloads"]}
    assert rows["deployment/backend"]["ready"] == "3/3"
    assert rows["deployment/backend"]["images"] == {"backend": f"{BACKEND}:1.4.0"}
    to_prod = {r["image"]: r for r in data["drift"][1]["images"]}
    assert data["drift"][1]["from"] == "staging" and data["drift"][1]["in_sync"] is False
    staging_backend = f"{BACKEND}:1.7.0@{digest(project, 'staging', 'backend')}"
    assert to_prod["backend"]["from"] == staging_backend and not to_prod["backend"]["same"]
    assert to_prod["frontend"]["kept"] is True
    text = project.invoke("status").stdout
    assert "lock: held by alice@laptop" in text
    assert "staging -> prod: differs" in text and "kept by prod" in text
    assert f"would change: {BACKEND}:1.4.0@{digest(project, 'prod', 'backend')} -> " \
           f"{staging_backend}" in text

    result = project.invoke("unlock", "--env", "prod", "--force", "--yes")
    assert "removed the lock held by alice@laptop" in result.stdout, output(result)
    (project.root / "k8s" / "NOTES").write_text("uncommitted\n")
    result = project.invoke("promote", "--from", "staging", "--to", "prod", "--yes")
    assert result.returncode == 0, output(result)
    assert project.image("prod", "backend") == staging_backend
    assert project.image("prod", "frontend") == f"{FRONTEND}:1.4.0"
    record = history(project, "prod")["records"][0]
    assert (record["action"], record["source"], record["actor"]) == (
        "promote", "staging", "release-bot")
    assert record["git"]["dirty"] is True and len(record["git"]["commit"]) == 40
    assert record["revisions_before"]["deployment/backend"] == "1"
    assert record["revisions_after"]["deployment/backend"] == "2"

    data = json.loads(project.invoke("status", "--env", "prod", "--json").stdout)
    assert list(data["environments"]) == ["prod"] and data["drift"] == []
    data = json.loads(project.invoke("status", "--json").stdout)
    assert data["drift"][1]["in_sync"] is True
    assert project.invoke("promote", "--from", "prod", "--to", "prod").returncode == 1


def test_verification_mismatch_fails_the_env_and_rolls_back(project, tmp_path):
    assert project.invoke("deploy-dev").returncode == 0
    before = project.image("dev", "backend")
    # Someone else changes the image while the promotion's rollout is in progress.
    wrapper = tmp_path / "kubectl-wrapper"
    wrapper.write_text(f"""#!/bin/sh
case "$*" in *"get deployment --watch"*)
  if [ ! -e {tmp_path}/changed ]; then
    touch {tmp_path}/changed
    {project.kubectl_bin} --kubeconfig {project.kubeconfig} --context {project.context("dev")} \\
      -n {project.namespace("dev")} set image deployment/backend \\
      backend={BACKEND}:6.6.6-other >/dev/null
  fi;;
esac
exec {project.kubectl_bin} "$@"
""")
    wrapper.chmod(0o755)
    project.settings["kubectl"] = str(wrapper)

    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")

    assert result.returncode == 2, output(result)
    assert "not running the promoted images" in result.stderr
    assert f"6.6.6-other, expected {BACKEND}:1.7.0" in result.stderr
    assert "rolled back deployment/backend" in result.stderr
    assert project.image("dev", "backend") == before
    data = history(project, "dev")
    assert data["records"][0]["outcome"] == "rolled back"
    assert data["records"][0]["rolled_back"] == ["deployment/backend"]
    assert data["bad_images"] == []  # the promoted image was never what ran


def test_rolled_back_image_is_refused_until_allowed(project, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "ci-bot")
    project.settings["history_limit"] = 3
    assert project.invoke("deploy-dev").returncode == 0
    candidate = f"{BACKEND}:1.7.0"
    project.env_settings("dev")["post_promotion"] = ["exit 1"]
    result = project.invoke("deploy-dev", "--image", f"backend={candidate}")
    assert result.returncode == 3, output(result)
    assert f"marked bad: {candidate}" in output(result)

    data = history(project, "dev")
    failed = data["records"][0]
    assert (failed["outcome"], failed["actor"], failed["marked_bad"]) == (
        "rolled back", "ci-bot", [candidate])
    assert failed["images_before"]["deployment/backend"] == {"backend": f"{BACKEND}:1.5.0"}
    assert failed["images_after"]["deployment/backend"] == {"backend": f"{BACKEND}:1.5.0"}
    assert [(m["image"], m["record"]) for m in data["bad_images"]] == [(candidate, failed["id"])]

    del project.env_settings("dev")["post_promotion"]
    with project.untouched():
        result = project.invoke("deploy-dev", "--image", f"backend={candidate}")
    assert result.returncode == 1, output(result)
    assert f"image {candidate} is marked bad in dev" in result.stderr
    assert "--allow-bad" in result.stderr and len(result.stderr.strip().splitlines()) == 1

    result = project.invoke("deploy-dev", "--allow-bad", "--image", f"backend={candidate}")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "backend") == candidate
    assert history(project, "dev")["bad_images"] == []

    result = project.invoke("rollback", "--env", "dev", "--only", "backend")
    assert result.returncode == 0, output(result)
    data = history(project, "dev")  # the first deploy's record is gone: history_limit 3
    assert [r["action"] for r in data["records"]] == ["rollback", "deploy", "deploy"]
    assert data["records"][2]["id"] == failed["id"]
    assert data["records"][0]["marked_bad"] == [candidate]
    text = project.invoke("history", "--env", "dev", "--limit", "2").stdout
    assert text.count("  deploy  by ci-bot") == 1 and "rollback  by ci-bot" in text
    assert f"== known-bad images in dev\n  {candidate} rolled back at" in text


def test_unmark_makes_an_image_promotable_again_and_history_names_who(project, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "ci-bot")
    assert project.invoke("deploy-dev").returncode == 0
    candidate = f"{BACKEND}:1.7.0"
    project.env_settings("dev")["post_promotion"] = ["exit 1"]
    assert project.invoke("deploy-dev", "--image", f"backend={candidate}").returncode == 3
    [mark] = history(project, "dev")["bad_images"]
    assert mark["image"] == candidate and mark["digest"].startswith("sha256:")  # its pods'

    with project.untouched():
        result = project.invoke("unmark", "--env", "dev", "--image", f"{BACKEND}:1.6.0")
    assert result.returncode == 1, output(result)
    assert result.stderr.strip() == (f"error: dev: {BACKEND}:1.6.0 is not marked bad "
                                     f"(marked: {candidate})")

    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    result = project.invoke("unmark", "--env", "dev", "--image", f"{BACKEND}@{mark['digest']}")
    assert result.returncode == 0, output(result)
    data = history(project, "dev")
    assert data["bad_images"] == []
    note = data["records"][0]
    assert (note["action"], note["actor"], note["outcome"]) == ("unmark", "alice", "succeeded")
    assert note["reason"].startswith(f"unmarked {candidate} rolled back at")
    text = project.invoke("history", "--env", "dev", "--limit", "1").stdout
    assert "  unmark  by alice  succeeded" in text

    del project.env_settings("dev")["post_promotion"]
    result = project.invoke("deploy-dev", "--image", f"backend={candidate}")
    assert result.returncode == 0, output(result)
    assert project.image("dev", "backend") == candidate


def test_carried_images_go_into_what_the_preflight_rendered(project):
    """An overlay changed after the preflight (here by dev's post hook) is not read again:
    staging receives exactly the manifest the preflight rendered and checked, with dev's
    digest-pinned images set in its workloads."""
    staging = project.root / "k8s/overlays/staging/kustomization.yaml"
    project.env_settings("dev")["post_promotion"] = [
        f"echo 'resources: [missing.yaml]' > {staging}"]
    result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 0, output(result)
    pinned = project.image("staging", "backend")
    assert pinned.startswith(project.image("dev", "backend") + "@sha256:")
    assert project.deployment("staging", "backend")["spec"]["replicas"] == 2  # its overlay
    assert f"images from dev: backend={pinned}" in result.stdout
