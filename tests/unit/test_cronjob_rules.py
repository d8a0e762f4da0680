"""CronJobs are first-class: their images are set, verified (spec only), planned and shown like
those of the workloads the tool waits for."""

from __future__ import annotations

from globepay_tasks import artifacts, kinds, kubectl, manifests, snapshot, status, workloads
from globepay_tasks.kubectl import Target, WorkloadRef
from globepay_tasks.promotion.plan import planned_refs, predict, summarize
from globepay_tasks.workload_state import WorkloadState

DIGEST = "sha256:" + "b" * 64
BACKEND = "registry.example/app/backend"
MANIFEST = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  selector:
    matchLabels:
      app: backend
  template:
    spec:
      containers:
      - name: backend
        image: {BACKEND}:1.0
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: wait
            image: {BACKEND}:1.0
          containers:
          - name: report
            image: {BACKEND}:1.0
          - name: sidecar
            image: registry.example/app/proxy:2.0
"""
CRON = WorkloadRef("CronJob", "report")
DEPLOY = WorkloadRef("Deployment", "backend")


def rendered() -> workloads.Rendered:
    objects = tuple(kubectl.parse_manifest(MANIFEST))
    return workloads.Rendered("overlay", objects, tuple(kubectl.workloads_in(objects)),
                              "overlay", MANIFEST)


def cron_spec(obj: dict) -> dict:
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_cronjob_rules_template_images_schedule_and_no_ready_count():
    obj = rendered().objects[1]
    rules = kinds.of("CronJob")
    assert not rules.awaited and not rules.rollable
    assert kinds.is_templated(obj) and not kinds.is_workload(obj)
    assert kinds.images_of(obj) == {"report": f"{BACKEND}:1.0",
                                    "sidecar": "registry.example/app/proxy:2.0"}
    assert [c["name"] for c in kinds.containers_of(obj)] == ["wait", "report", "sidecar"]
    assert rules.ready(obj) == ""
    assert rules.schedule(obj) == "*/5 * * * *"
    assert str(CRON) == "cronjob/report"
    assert rendered().workloads == (DEPLOY,)  # applied, not waited on


def test_carried_images_are_set_in_a_cronjobs_job_template():
    pinned = f"{BACKEND}@{DIGEST}"
    carried = manifests.with_images(rendered(), {"backend": pinned})
    assert [c["image"] for c in kinds.containers_of(carried.objects[1])] == [
        pinned, pinned, "registry.example/app/proxy:2.0"]
    assert carried.objects[0]["spec"]["template"]["spec"]["containers"][0]["image"] == pinned
    assert kubectl.parse_manifest(carried.manifest) == list(carried.objects)


def test_rendered_and_intended_images_include_cronjobs():
    assert manifests.rendered_images(rendered()) == {f"{BACKEND}:1.0",
                                                     "registry.example/app/proxy:2.0"}
    assert set(artifacts.intended_images(rendered().objects)) == {DEPLOY, CRON}


def test_verification_compares_a_cronjobs_spec_only():
    objects = rendered().objects
    intended = artifacts.intended_images(objects)
    assert artifacts.Live(objects, ()).mismatches(intended) == []
    other = manifests.with_images(rendered(), {"proxy": "registry.example/app/proxy:3.0"})
    problems = artifacts.Live(other.objects, ()).mismatches(intended)
    assert problems == ["cronjob/report container sidecar is set to "
                        "registry.example/app/proxy:3.0, expected registry.example/app/proxy:2.0"]
    assert "cronjob/report not found" in artifacts.Live(objects[:1], ()).mismatches(intended)
    # no pods of its own: nothing is carried forward from a CronJob
    assert [r.workload for r in artifacts.Live(objects, ()).running()] == [DEPLOY]


def test_one_read_lists_cronjobs():
    target = Target("kubectl", "dev", context="dev")
    resources = kubectl.get_live(target)[-3].split(",")
    assert "cronjobs" in resources and "pods" in resources
    assert "cronjobs" in snapshot.snapshot_resources(rendered())
    assert "cronjob.batch" not in snapshot.snapshot_resources(rendered())


def test_plan_shows_a_cronjobs_images_before_and_after():
    new = manifests.with_images(rendered(), {"backend": f"{BACKEND}:2.0"})
    assert planned_refs(new) == [DEPLOY, CRON]
    before = {ref: WorkloadState.from_object(obj)
              for ref, obj in zip((DEPLOY, CRON), rendered().objects, strict=True)}
    planned = predict(new, before)
    assert [p.action for p in planned] == ["change", "change"]
    assert planned[1].describe() == "cronjob/report: change, report 1.0 -> 2.0"
    assert summarize(planned) == "2 to change, 0 to create, 0 unchanged"
    assert predict(new, {})[1].describe() == "cronjob/report: create, report 2.0, sidecar 2.0"


def test_status_row_of_a_cronjob_has_its_schedule_and_no_ready_count():
    data = {"environments": {"dev": {
        "namespace": "dev", "last_promotion": None, "lock": None,
        "overlay": {"overlay": "k8s/overlays/dev", "compared": 1, "objects": [], "in_sync": True},
        "workloads": [{"workload": "cronjob/report", "images": {"report": f"{BACKEND}:1.0"},
                       "digests": {"report": ""}, "ready": "", "revision": "1",
                       "schedule": "*/5 * * * *"}]}}, "drift": []}
    assert status.text_lines(data)[-1] == (
        f"  cronjob/report           schedule '*/5 * * * *' {BACKEND}:1.0")
