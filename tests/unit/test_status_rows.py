"""How ``invoke status`` says where a workload's rollout stands, whatever its ready count."""

from __future__ import annotations

from globepay_tasks.status import rollout_state


def job(conditions: list[dict]) -> dict:
    return {"kind": "Job", "metadata": {"name": "migrate", "generation": 1},
            "spec": {}, "status": {"conditions": conditions}}


def test_a_job_is_running_complete_or_failed_with_its_condition() -> None:
    assert rollout_state(job([]), []) == ("running", "")
    assert rollout_state(job([{"type": "Complete", "status": "True"}]), []) == ("complete", "")
    failed = job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                   "message": "Job has reached the specified backoff limit"}])
    assert rollout_state(failed, [failed]) == (
        "failed", "job/migrate: BackoffLimitExceeded: Job has reached the specified backoff limit")


def test_a_workload_updated_on_delete_has_no_rollout_to_judge() -> None:
    obj = {"kind": "StatefulSet", "metadata": {"name": "cache", "generation": 2},
           "spec": {"replicas": 1, "updateStrategy": {"type": "OnDelete"}},
           "status": {"observedGeneration": 1}}
    assert rollout_state(obj, []) == ("", "")
