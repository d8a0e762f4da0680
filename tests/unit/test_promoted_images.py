"""Image references, live images, verification, carried images, bad marks, records, drift."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from globepay_tasks import (
    artifacts,
    audit,
    badimages,
    images,
    kubectl,
    manifests,
    pods,
    report,
    status,
    workloads,
)
from globepay_tasks.config import DEFAULTS, load_settings
from globepay_tasks.errors import ConfigError
from globepay_tasks.kubectl import Target, WorkloadRef
from globepay_tasks.promotion import EnvResult, WorkloadChange, plan
from globepay_tasks.workload_state import WorkloadState

REPO = "registry.globepay.dev:5000/globepay/backend"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
BACKEND = WorkloadRef("Deployment", "backend")


def test_reference_parts_with_a_registry_port():
    ref = f"{REPO}:1.5.0"
    assert images.repository(ref) == REPO and images.short_name(ref) == "backend"
    assert images.repository(f"{REPO}@{DIGEST}") == REPO and images.digest(ref) == ""
    assert images.digest_of_image_id(f"docker-pullable://{REPO}@{DIGEST}") == DIGEST
    assert images.digest_of_image_id("sha256:" + "c" * 64) == ""  # an image ID, no repo digest
    assert images.pinned(ref, DIGEST) == f"{REPO}:1.5.0@{DIGEST}" and images.pinned(ref, "") == ref
    assert images.pinned(f"{REPO}:1.5.0@{OTHER}", DIGEST) == f"{REPO}:1.5.0@{DIGEST}"
    assert images.pinned(f"{REPO}@{OTHER}", DIGEST) == f"{REPO}@{DIGEST}"
    assert (images.tag(ref), images.tag(f"{REPO}@{DIGEST}")) == ("1.5.0", "")
    assert images.selects("backend", ref) and images.selects(REPO, ref)
    assert not images.selects("back", ref)
    assert images.same_artifact(f"{REPO}@{DIGEST}", f"other/backend@{DIGEST}")
    assert not images.same_artifact(f"{REPO}:1", f"{REPO}:2")


def test_tag_and_digest_are_shown_together():
    short = DIGEST[:19]
    assert images.label(f"{REPO}:1.5.0@{DIGEST}") == f"1.5.0@{short}"
    assert images.label(f"{REPO}@{DIGEST}") == short and images.label(f"{REPO}:1.5.0") == "1.5.0"
    assert report.image_label(f"{REPO}:1.5.0@{DIGEST}") == f"backend:1.5.0@{short}"
    assert report.image_label(f"{REPO}@{DIGEST}") == f"backend@{short}"
    planned = plan.PlannedChange(BACKEND, "change", {"backend": f"{REPO}:1.5.0@{DIGEST}"},
                                 {"backend": f"{REPO}:1.5.1"})
    assert planned.describe() == f"deployment/backend: change, backend 1.5.0@{short} -> 1.5.1"


def test_the_plan_marks_images_that_differ_from_the_previous_environment():
    dev = {"backend": f"{REPO}:1.5.0@{DIGEST}", "frontend": f"{REPO[:-7]}frontend:1.5.0"}
    same_tag = plan.PlannedChange(BACKEND, "unchanged", {}, {"backend": f"{REPO}:1.5.0"})
    older = plan.PlannedChange(BACKEND, "change", {}, {"backend": f"{REPO}:1.4.1"},
                               note="failed before")
    alone = plan.PlannedChange(WorkloadRef("Deployment", "cache"), "change", {},
                               {"cache": "redis:7"})
    marked = plan.marked([same_tag, older, alone], "dev", dev)
    assert marked[0] == same_tag and marked[2] == alone
    assert marked[1].note == f"failed before, dev runs backend 1.5.0@{DIGEST[:19]}"
    assert not images.same_version(f"{REPO}@{DIGEST}", f"{REPO}@{OTHER}")


def deployment(image: str, name: str = "backend") -> dict:
    return {"kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"spec": {"containers": [{"name": name, "image": image}]}}}}


def pod(name: str, image: str, image_id: str, *, app: str = "backend", **meta) -> dict:
    return {"metadata": {"name": name, "labels": {"app": app}, **meta},
            "spec": {"containers": [{"name": "backend", "image": image}]},
            "status": {"phase": "Running",
                       "containerStatuses": [{"name": "backend", "imageID": image_id}]}}


def test_running_images_are_pinned_when_the_pods_agree():
    ref = f"{REPO}:1.5.0"
    live = artifacts.Live((deployment(ref),), (
        pod("a", ref, f"docker-pullable://{REPO}@{DIGEST}"),
        pod("b", ref, f"{REPO}@{DIGEST}"),
        pod("old", f"{REPO}:1.4.0", f"{REPO}@{OTHER}"),
        pod("x", ref, f"{REPO}@{OTHER}", app="frontend"),
    ))
    [running] = live.running()
    assert (running.workload, running.container, running.pinned) == (
        BACKEND, "backend", f"{REPO}:1.5.0@{DIGEST}")
    disagreeing = artifacts.Live(live.workloads, (pod("a", ref, f"{REPO}@{DIGEST}"),
                                                  pod("b", ref, f"{REPO}@{OTHER}")))
    assert disagreeing.running()[0].pinned == ref


def test_a_workloads_pods_are_those_its_whole_selector_matches():
    ref = f"{REPO}:1.5.0"
    workload = deployment(ref)
    workload["spec"]["selector"]["matchLabels"]["tier"] = "api"
    mine = pod("a", ref, f"{REPO}@{DIGEST}")
    mine["metadata"]["labels"]["tier"] = "api"
    other = pod("b", ref, f"{REPO}@{OTHER}")  # app=backend alone, no tier
    live = artifacts.Live((workload,), (other, mine))
    [running] = live.running()
    assert running.pinned == f"{REPO}:1.5.0@{DIGEST}"
    assert live.mismatches({BACKEND: {"backend": ref}}) == []


def test_unhealthy_names_workloads_whose_rollout_is_not_complete():
    def rolled(name: str, **status: int) -> dict:
        obj = deployment(f"{REPO}:1.5.0", name)
        obj["metadata"]["generation"] = 2
        obj["spec"]["replicas"] = 1
        obj["status"] = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1,
                         "availableReplicas": 1, **status}
        return obj

    live = artifacts.Live((rolled("backend"), rolled("web", replicas=2)), ())
    assert live.unhealthy() == ["deployment/web: 1 old replicas pending termination"]


def test_mismatches_spec_pod_image_and_digest():
    want = f"{REPO}@{DIGEST}"
    intended = {BACKEND: {"backend": want}}
    good = artifacts.Live((deployment(want),), (pod("a", want, f"{REPO}@{DIGEST}"),))
    assert good.mismatches(intended) == []
    stale = pod("old", f"{REPO}:1.4.0", "", deletionTimestamp="2025-01-01T00:00:00Z")
    assert artifacts.Live(good.workloads, (*good.pods, stale)).mismatches(intended) == []
    wrong_digest = artifacts.Live(good.workloads, (pod("a", want, f"{REPO}@{OTHER}"),))
    assert wrong_digest.mismatches(intended) == [
        f"pod a (deployment/backend) runs digest {OTHER}, expected {DIGEST}"]
    leftover = artifacts.Live(good.workloads, (pod("b", f"{REPO}:1.4.0", ""),))
    assert leftover.mismatches(intended) == [
        f"pod b (deployment/backend) runs {REPO}:1.4.0, expected {want}"]
    changed = artifacts.Live((deployment(f"{REPO}:9"),), ())
    assert changed.mismatches(intended) == [
        f"deployment/backend container backend is set to {REPO}:9, expected {want}"]
    assert artifacts.Live((), ()).mismatches(intended) == ["deployment/backend not found"]


def test_offered_and_applicable_images():
    running = [artifacts.RunningImage(BACKEND, "backend", f"{REPO}:1", DIGEST),
               artifacts.RunningImage(WorkloadRef("Deployment", "web"), "web", "r/frontend:2")]
    offered = artifacts.offered(running)
    assert offered == {"backend": f"{REPO}:1@{DIGEST}", "frontend": "r/frontend:2"}
    assert artifacts.applicable(offered, {f"{REPO}:0", "r/frontend:1"}, ["frontend"]) == {
        "backend": f"{REPO}:1@{DIGEST}"}
    assert artifacts.applicable(offered, {"r/frontend:1"}, []) == {"frontend": "r/frontend:2"}
    conflicting = [*running, artifacts.RunningImage(WorkloadRef("Deployment", "worker"),
                                                    "worker", f"{REPO}:2")]
    with pytest.raises(ConfigError, match="cannot promote image backend: .* 2 different"):
        artifacts.offered(conflicting)


def test_bad_marks_match_by_reference_or_digest_and_merge():
    mark = badimages.Mark(f"{REPO}:1.6.0", DIGEST, "deployment/backend", "2025-01-01T00:00:00Z",
                          "rec-1", "alice@host", "post hook failed")
    assert mark.matches(f"{REPO}:1.6.0") and mark.matches(f"{REPO}@{DIGEST}")
    assert not mark.matches(f"{REPO}:1.6.1")
    hits = badimages.refused([mark], [f"{REPO}@{DIGEST}", f"{REPO}:1.5.0"])
    assert hits == [(f"{REPO}@{DIGEST}", mark)]
    error = badimages.refusal("dev", hits)
    assert "--allow-bad" in error.message and "\n" not in error.message
    assert "rolled back at 2025-01-01T00:00:00Z by alice@host (record rec-1)" in error.message
    again = badimages.Mark(f"{REPO}:1.6.0", record="rec-2")
    other = badimages.Mark(f"{REPO}:1.7.0")
    assert badimages.merged([mark, other], [again], []) == [other, again]
    assert badimages.merged([mark, other], [], [f"{REPO}@{DIGEST}"]) == [other]
    document = badimages.manifest("globepay-dev", [mark])
    assert document["metadata"]["name"] == "globepay-bad-images"


def state(image: str, revision: str) -> WorkloadState:
    return WorkloadState(BACKEND, True, template=image, revision=revision,
                         images={"backend": image})


def test_rolled_away_images_of_an_automatic_and_a_manual_rollback():
    old, new = state(f"{REPO}:1.5.0", "1"), state(f"{REPO}:1.6.0", "2")
    deploy = EnvResult("dev", "deploy", changes=[WorkloadChange(BACKEND, old, new)],
                       rolled_back=["deployment/backend"])
    after = {"deployment/backend": state(f"{REPO}:1.5.0", "3")}
    assert audit.rolled_away(deploy, after) == [("deployment/backend", f"{REPO}:1.6.0")]
    manual = EnvResult("dev", "rollback", changes=[WorkloadChange(BACKEND, new, after[
        "deployment/backend"])], rolled_back=["deployment/backend"])
    assert audit.rolled_away(manual, after) == [("deployment/backend", f"{REPO}:1.6.0")]
    config_only = EnvResult("dev", "rollback", changes=[WorkloadChange(BACKEND, old, old)],
                            rolled_back=["deployment/backend"])
    assert audit.rolled_away(config_only, {"deployment/backend": old}) == []


FRONTEND = WorkloadRef("Deployment", "frontend")
WEB = "registry.globepay.dev:5000/globepay/frontend"


def front(image: str, revision: str) -> WorkloadState:
    return WorkloadState(FRONTEND, True, template=image, revision=revision,
                         images={"frontend": image})


def undone_deploy(failure: str, failed: list[str]) -> tuple[EnvResult, dict]:
    """A deploy of backend 1.6.0 and frontend 2.1.0 that failed with ``failure`` (the own
    rollout of ``failed``) and was rolled back to 1.5.0 and 2.0.0."""
    changes = [WorkloadChange(BACKEND, state(f"{REPO}:1.5.0", "1"), state(f"{REPO}:1.6.0", "2")),
               WorkloadChange(FRONTEND, front(f"{WEB}:2.0.0", "1"), front(f"{WEB}:2.1.0", "2"))]
    result = EnvResult("dev", "deploy", changes=changes, failure=failure,
                       rolled_back=["deployment/backend", "deployment/frontend"],
                       failed_rollouts=failed)
    return result, {"deployment/backend": state(f"{REPO}:1.5.0", "3"),
                    "deployment/frontend": front(f"{WEB}:2.0.0", "3")}


def test_an_image_is_marked_bad_only_when_its_own_rollout_failed():
    result, after = undone_deploy("RolloutFailed", ["deployment/backend"])
    assert audit.to_mark(result, after) == [("deployment/backend", f"{REPO}:1.6.0")]
    hook, after = undone_deploy("HookFailed", [])  # the hook tried every new image
    assert audit.to_mark(hook, after) == [("deployment/backend", f"{REPO}:1.6.0"),
                                          ("deployment/frontend", f"{WEB}:2.1.0")]
    for failure in ("ServerNotAnswering", "VerificationFailed", "Interrupted"):
        result, after = undone_deploy(failure, ["deployment/backend"])
        assert audit.to_mark(result, after) == [], failure


def test_the_image_rolled_back_to_is_never_marked():
    # a manual rollback of backend from 1.6.0 to 1.5.0, while a sidecar runs 1.6.0 too
    after = {"deployment/backend": state(f"{REPO}:1.5.0", "3"),
             "deployment/frontend": front(f"{REPO}:1.6.0", "1")}
    manual = EnvResult("dev", "rollback", changes=[WorkloadChange(
        BACKEND, state(f"{REPO}:1.6.0", "2"), after["deployment/backend"])],
        rolled_back=["deployment/backend"])
    assert audit.to_mark(manual, after) == []
    after["deployment/frontend"] = front(f"{WEB}:2.0.0", "1")
    assert audit.to_mark(manual, after) == [("deployment/backend", f"{REPO}:1.6.0")]
    # staging rolled back from 1.5.0 (set by --image) to dev's 1.5.0, pinned: the same version
    pinned = {"deployment/backend": state(f"{REPO}:1.5.0@{DIGEST}", "3")}
    by_tag = EnvResult("staging", "rollback", changes=[WorkloadChange(
        BACKEND, state(f"{REPO}:1.5.0", "2"), pinned["deployment/backend"])],
        rolled_back=["deployment/backend"])
    assert audit.to_mark(by_tag, pinned) == []


def test_a_mark_records_the_digest_the_failed_pods_reported():
    result, after = undone_deploy("RolloutFailed", ["deployment/backend"])
    result.digests = {f"{REPO}:1.6.0": DIGEST}
    recorder = audit.Audit(None, None, project_root=Path("."), history_limit=5,
                           environ={"GITHUB_ACTOR": "octocat"})
    marks = recorder._marks(result, after)
    assert [(m.image, m.digest, m.actor) for m in marks] == [(f"{REPO}:1.6.0", DIGEST, "octocat")]
    pod = {"kind": "Pod", "metadata": {"name": "backend-7c9f-a", "ownerReferences": [
               {"kind": "ReplicaSet", "name": "backend-7c9f"}]},
           "spec": {"containers": [{"name": "backend", "image": f"{REPO}:1.6.0"}]},
           "status": {"containerStatuses": [{"name": "backend", "image": f"{REPO}:1.6.0",
                                             "imageID": f"{REPO}@{DIGEST}"}]}}
    assert pods.digests([pod], BACKEND) == {f"{REPO}:1.6.0": DIGEST}
    assert pods.digests([pod], FRONTEND) == {}


def test_record_actor_and_change_cause():
    assert audit.actor({"GITHUB_ACTOR": "octocat"}) == "octocat"
    assert "@" in audit.actor({})
    assert audit.ci_run({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "a/b",
                         "GITHUB_RUN_ID": "7"}) == "https://github.com/a/b/actions/runs/7"
    assert audit.change_cause("20250101-000000-abcdef", "prod", [f"{REPO}:2", f"{REPO}:1"]) == (
        f"globepay 20250101-000000-abcdef prod: {REPO}:1, {REPO}:2")
    env = load_settings(DEFAULTS["globepay"]).environment("dev")
    old, new = state(f"{REPO}:1.5.0", "1"), state(f"{REPO}:1.6.0", "2")
    result = EnvResult("dev", "deploy", outcome="succeeded", id="20250101-000000-abcdef",
                       changes=[WorkloadChange(BACKEND, old, new)])
    record = audit.build_record(result, env, actor_name="a@b", ci="", git={"commit": "c",
                                "dirty": False}, after={"deployment/backend": new}, marked=[])
    assert record["images_before"] == {"deployment/backend": {"backend": f"{REPO}:1.5.0"}}
    assert record["images_after"] == {"deployment/backend": {"backend": f"{REPO}:1.6.0"}}
    assert (record["revisions_before"], record["revisions_after"]) == (
        {"deployment/backend": "1"}, {"deployment/backend": "2"})
    manifest = audit.manifest("globepay-dev", record, "globepay-history-3")
    assert manifest["metadata"]["name"] == "globepay-history-3"
    assert manifest["metadata"]["labels"]["globepay.dev/record"] == "promotion"
    assert audit.records_in([manifest])[0]["id"] == "20250101-000000-abcdef"
    assert "data" not in manifest and len(manifest["binaryData"]["record.json.gz"]) < len(
        json.dumps(record))
    plain = {**manifest, "data": {"record.json": json.dumps(record)}, "binaryData": {}}
    assert audit.records_in([plain])[0]["requested_images"] == record["requested_images"]
    assert audit.records_in([{**manifest, "binaryData": {"record.json.gz": "bm90IGd6aXA="}}]) == []


def test_history_records_take_turns_in_slots():
    def records(*names: str) -> list[dict]:  # newest first
        return [{"_name": name} for name in names]

    # fewer than the limit: the first free slot, nothing deleted
    assert audit.slot([], 3) == ("globepay-history-0", [])
    assert audit.slot(records("globepay-history-1", "globepay-history-0"), 3) == (
        "globepay-history-2", [])
    # at the limit: the oldest record's slot is written over
    assert audit.slot(records("globepay-history-0", "globepay-history-2",
                              "globepay-history-1"), 3) == ("globepay-history-1", [])
    # the limit lowered, or records of other names: the oldest beyond it are deleted
    assert audit.slot(records("globepay-history-4", "globepay-history-0", "old-a", "old-b"),
                      2) == ("globepay-history-0", ["old-a", "old-b"])
    assert audit.slot(records("globepay-history-0"), 1) == ("globepay-history-0", [])


def test_drift_between_two_environments():
    data = {
        "staging": {"images": {"backend": f"{REPO}@{DIGEST}", "frontend": "r/frontend@" + OTHER,
                               "worker": "r/worker:1"}},
        "prod": {"images": {"backend": f"{REPO}@{DIGEST}", "frontend": "r/frontend:1.4.0",
                            "cron": "r/cron:1"}, "keep_images": ["frontend"]},
    }
    pair = status.drift("staging", "prod", data)
    rows = {row["image"]: row for row in pair["images"]}
    assert rows["backend"]["same"] and rows["frontend"]["kept"]
    assert rows["worker"]["to"] is None and rows["cron"]["from"] is None
    assert pair["in_sync"] is True  # an image only one side runs is not promoted
    data["prod"]["images"]["backend"] = f"{REPO}:1.4.0"
    assert status.drift("staging", "prod", data)["in_sync"] is False


def test_configuration_keys():
    settings = load_settings(DEFAULTS["globepay"])
    assert settings.promote_images is True and settings.history_limit == 50
    assert settings.environment("prod").keep_images == ()
    tree = copy.deepcopy(DEFAULTS["globepay"])
    tree.update(promote_images="false", history_limit="5")
    tree["environments"]["prod"]["keep_images"] = ["frontend"]
    settings = load_settings(tree)
    assert (settings.promote_images, settings.history_limit) == (False, 5)
    assert settings.environment("prod").keep_images == ("frontend",)
    for key, value, message in (("history_limit", 0, "history_limit must be a whole number"),
                                ("promote_images", "maybe", "promote_images must be true")):
        with pytest.raises(ConfigError, match=message):
            load_settings({**DEFAULTS["globepay"], key: value})
    tree["environments"]["prod"]["keep_images"] = [""]
    with pytest.raises(ConfigError, match=r"prod\.keep_images must be a list of image names"):
        load_settings(tree)


def test_argument_lists_for_records():
    target = Target("kubectl", "globepay-dev", "dev")
    assert kubectl.get_resources(target, ["deployments", "leases.coordination.k8s.io"])[-4:] == [
        "get", "deployments,leases.coordination.k8s.io", "--output", "json"]
    assert kubectl.resource_of({"apiVersion": "apps/v1", "kind": "Deployment"}) == (
        "deployment.apps")
    assert kubectl.resource_of({"apiVersion": "v1", "kind": "Service"}) == "service"
    assert kubectl.get_optional(target, "lease", "globepay-promotion")[-5:] == [
        "lease", "globepay-promotion", "--output", "json", "--ignore-not-found"]
    assert kubectl.delete(target, "configmaps", ["a", "b"])[-4:] == [
        "configmaps", "a", "b", "--ignore-not-found"]


def test_digest_override_keeps_the_tag(tmp_path: Path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    with workloads.kustomization_for(overlay, {"backend": f"{REPO}:1.5.0@{DIGEST}"},
                                     [f"{REPO}:1.4.0"]) as directory:
        document = yaml.safe_load(Path(directory, "kustomization.yaml").read_text())
    assert document["images"] == [
        {"name": REPO, "newName": REPO, "newTag": "1.5.0", "digest": DIGEST}]


MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  image: registry.example/app/backend:1.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: registry.example/app/backend:1.0
      containers:
      - name: backend
        image: registry.example/app/backend:1.0
      - name: proxy
        image: registry.example/app/proxy:2.0
"""


def rendered_manifest() -> workloads.Rendered:
    objects = tuple(kubectl.parse_manifest(MANIFEST))
    return workloads.Rendered("overlay", objects, tuple(kubectl.workloads_in(objects)),
                              "overlay", MANIFEST)


def test_carried_images_are_set_in_workload_pod_templates_only():
    pinned = f"registry.example/app/backend@{DIGEST}"
    carried = manifests.with_images(rendered_manifest(), {"backend": pinned})
    deployment = carried.objects[1]["spec"]["template"]["spec"]
    assert [c["image"] for c in deployment["initContainers"] + deployment["containers"]] == [
        pinned, pinned, "registry.example/app/proxy:2.0"]
    assert carried.objects[0]["data"]["image"] == "registry.example/app/backend:1.0"
    assert carried.manifest.startswith(MANIFEST.split("---")[0])  # left as rendered
    assert kubectl.parse_manifest(carried.manifest) == list(carried.objects)
    assert manifests.with_images(rendered_manifest(), {}).manifest == MANIFEST


def test_the_first_override_that_names_an_image_is_the_one_set():
    by_repository = "registry.example/app/backend:3.0"
    by_name = "registry.example/app/backend:2.0"
    for overrides, expected in (
            ({"registry.example/app/backend": by_repository, "backend": by_name}, by_repository),
            ({"backend": by_name, "registry.example/app/backend": by_repository}, by_name)):
        carried = manifests.with_images(rendered_manifest(), overrides)
        containers = carried.objects[1]["spec"]["template"]["spec"]["containers"]
        assert [c["image"] for c in containers] == [expected, "registry.example/app/proxy:2.0"]


def test_change_cause_is_added_to_the_named_workloads():
    ref = kubectl.WorkloadRef("Deployment", "backend")
    text = manifests.annotated(rendered_manifest(), {ref: {kubectl.CHANGE_CAUSE: "globepay x"}})
    objects = kubectl.parse_manifest(text)
    assert objects[1]["metadata"]["annotations"] == {kubectl.CHANGE_CAUSE: "globepay x"}
    assert "annotations" not in objects[0]["metadata"]
