"""The plan of a Job: ``replace`` when its pod template changes (it cannot be updated),
``unchanged`` when it does not (it is not run again)."""

from __future__ import annotations

import json

from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION, WorkloadRef
from globepay_tasks.manifests import Rendered
from globepay_tasks.promotion.plan import (
    CHANGE,
    REPLACE,
    SAME,
    predict,
    replaced,
    summarize,
)
from globepay_tasks.workload_state import WorkloadState

JOB = WorkloadRef("Job", "database-migration")
BACKEND = WorkloadRef("Deployment", "backend")


def workload(kind: str, name: str, image: str) -> dict:
    group = "batch/v1" if kind == "Job" else "apps/v1"
    template = {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]}}
    return {"apiVersion": group, "kind": kind, "metadata": {"name": name},
            "spec": {"template": template}}


def live(obj: dict) -> WorkloadState:
    """``obj`` as the server keeps it after ``kubectl apply`` (its last-applied annotation)."""
    stored = json.loads(json.dumps(obj))
    stored["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: json.dumps(obj)}
    stored["spec"]["template"]["metadata"]["labels"]["controller-uid"] = "1234"  # server's
    return WorkloadState.from_object(stored)


def rendered(*objects: dict) -> Rendered:
    refs = tuple(WorkloadRef(o["kind"], o["metadata"]["name"]) for o in objects)
    return Rendered("overlay", objects, refs, "overlay", "")


def test_a_job_whose_template_changes_is_replaced_one_that_does_not_is_left_alone():
    before = {BACKEND: live(workload("Deployment", "backend", "backend:1.5.1")),
              JOB: live(workload("Job", "database-migration", "backend:1.5.1"))}

    plan = predict(rendered(workload("Deployment", "backend", "backend:1.5.2"),
                            workload("Job", "database-migration", "backend:1.5.2")), before)

    assert [p.action for p in plan] == [CHANGE, REPLACE]
    assert plan[1].describe() == (
        "job/database-migration: replace, database-migration 1.5.1 -> 1.5.2")
    assert summarize(plan) == "1 to change, 1 to replace, 0 to create, 0 unchanged"
    assert replaced(plan) == [JOB]

    same = predict(rendered(workload("Job", "database-migration", "backend:1.5.1")), before)
    assert [p.action for p in same] == [SAME]
    assert summarize(same) == "0 to change, 0 to create, 1 unchanged"
    assert replaced(same) == []


def test_a_job_template_change_with_the_same_images_is_a_replace():
    before = {JOB: live(workload("Job", "database-migration", "backend:1.5.1"))}
    changed = workload("Job", "database-migration", "backend:1.5.1")
    changed["spec"]["template"]["spec"]["containers"][0]["command"] = ["migrate", "--all"]

    assert [p.action for p in predict(rendered(changed), before)] == [REPLACE]


def test_a_job_that_failed_is_run_again_even_when_it_does_not_change():
    failed = workload("Job", "database-migration", "backend:1.5.1")
    state = live(failed)
    stored = {**failed, "status": {"conditions": [{"type": "Failed", "status": "True",
                                                   "reason": "BackoffLimitExceeded"}]}}
    stored["metadata"] = {**failed["metadata"], "annotations": {
        LAST_APPLIED_ANNOTATION: json.dumps(failed)}}
    before = {JOB: WorkloadState.from_object(stored)}

    plan = predict(rendered(failed), before)

    assert state.failed is False and before[JOB].failed is True
    assert [p.action for p in plan] == [REPLACE]
    assert plan[0].describe() == "job/database-migration: replace, failed before: run again"
    assert replaced(plan) == [JOB]
