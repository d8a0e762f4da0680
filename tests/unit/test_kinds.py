"""Per-kind rules: kubectl's rollout status, readiness, health, pod templates and revisions,
judged from objects as the API serves them."""

from __future__ import annotations

from globepay_tasks import kinds
from globepay_tasks.kubectl import WorkloadRef
from globepay_tasks.watch import Board, EventLines


def deployment(generation=2, observed=2, replicas=3, updated=3, total=3, available=3,
               progressing="NewReplicaSetAvailable") -> dict:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
                   "availableReplicas": available,
                   "conditions": [{"type": "Progressing", "status": "True",
                                   "reason": progressing}]},
    }


def test_deployment_steps_in_kubectls_order_and_words():
    assert kinds.rollout(deployment(observed=1)).message == (
        "Waiting for deployment spec update to be observed...")
    assert kinds.rollout(deployment(updated=1, total=3)).message == (
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
        "updated...")
    assert kinds.rollout(deployment(total=5)).message == (
        'Waiting for deployment "web" rollout to finish: 2 old replicas are pending '
        "termination...")
    assert kinds.rollout(deployment(available=2)).message == (
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
        "available...")
    done = kinds.rollout(deployment())
    assert done.done and not done.failed
    assert done.message == 'deployment "web" successfully rolled out'


def test_deployment_progress_deadline_is_a_failure_once_observed():
    failed = kinds.rollout(deployment(updated=1, progressing="ProgressDeadlineExceeded"))
    assert failed.failed and failed.error == (
        'error: deployment "web" exceeded its progress deadline')
    stale = kinds.rollout(deployment(observed=1, progressing="ProgressDeadlineExceeded"))
    assert not stale.done and not stale.failed


def test_statefulset_and_daemonset_viewers():
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate",
                                                      "rollingUpdate": {"partition": 1}}},
           "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}}
    assert kinds.rollout(sts).message == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...")
    sts["status"]["updatedReplicas"] = 2
    assert kinds.rollout(sts).done
    sts["status"]["readyReplicas"] = 1
    assert kinds.rollout(sts).message == "Waiting for 2 pods to be ready..."
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert kinds.rollout(sts).error == (
        "error: rollout status is only available for RollingUpdate strategy type")

    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 4},
          "spec": {"updateStrategy": {"type": "RollingUpdate"}},
          "status": {"observedGeneration": 4, "desiredNumberScheduled": 2,
                     "updatedNumberScheduled": 2, "numberAvailable": 1}}
    assert kinds.rollout(ds).message == (
        'Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...')
    ds["status"]["numberAvailable"] = 2
    assert kinds.rollout(ds).message == 'daemon set "agent" successfully rolled out'


def test_job_complete_or_failed():
    job = {"kind": "Job", "metadata": {"name": "migrate"}, "status": {}}
    assert not kinds.rollout(job).done
    job["status"]["conditions"] = [{"type": "Failed", "status": "True"}]
    assert kinds.rollout(job).error == 'job "migrate" failed'
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert kinds.rollout(job).done and not kinds.rollout(job).failed


def test_readiness_is_structured_not_parsed_back():
    assert kinds.rollout(deployment(observed=1)).readiness == "waiting for the controller"
    assert kinds.rollout(deployment(updated=2)).readiness == "2/3 updated"
    assert kinds.rollout(deployment(total=4)).readiness == "1 old replicas pending termination"
    assert kinds.rollout(deployment(available=1)).readiness == "1/3 ready"
    assert kinds.rollout(deployment()).readiness == "3/3 ready"
    job = {"kind": "Job", "metadata": {"name": "migrate"}, "status": {}}
    assert kinds.rollout(job).readiness == "running"
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert kinds.rollout(job).readiness == "complete"


def test_health_of_each_kind():
    assert kinds.DEPLOYMENT.health(deployment()) == (True, "deployment/web: 3/3 available")
    assert kinds.DEPLOYMENT.health(deployment(available=1)) == (
        False, "deployment/web: 1/3 available")
    assert kinds.DEPLOYMENT.health(deployment(observed=1)) == (
        False, "deployment/web: not yet observed")
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 2},
           "status": {"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 1}}
    assert kinds.STATEFULSET.health(sts) == (False, "statefulset/db: 1/2 ready")
    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 2},
          "status": {"observedGeneration": 2, "desiredNumberScheduled": 3,
                     "numberAvailable": 3, "updatedNumberScheduled": 3}}
    assert kinds.DAEMONSET.health(ds) == (True, "daemonset/agent: 3/3 available")


def test_a_job_is_healthy_unless_failed_whatever_observed_generation_says():
    # a real API server gives a Job no status.observedGeneration
    job = {"kind": "Job", "metadata": {"name": "migrate", "generation": 1},
           "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}
    assert kinds.JOB.health(job) == (True, "job/migrate: complete")
    job["status"] = {}
    assert kinds.JOB.health(job) == (True, "job/migrate: running")
    job["status"] = {"conditions": [{"type": "Failed", "status": "True"}]}
    assert kinds.JOB.health(job) == (False, "job/migrate: failed")


def test_pod_templates_images_and_undo_by_kind():
    template = {"spec": {"initContainers": [{"name": "init", "image": "busybox:1"}],
                         "containers": [{"name": "app", "image": "app:2"}]}}
    cron = {"kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"jobTemplate": {"spec": {"template": template}}}}
    assert kinds.images_of(cron) == {"app": "app:2"}
    assert [c["name"] for c in kinds.containers_of(cron)] == ["init", "app"]
    assert kinds.images_of({"kind": "ConfigMap", "data": {}}) == {}
    assert kinds.DEPLOYMENT.undo_revision("4") == 4
    assert kinds.DEPLOYMENT.undo_revision("") is None
    assert kinds.ROLLOUT_KINDS == ("Deployment", "StatefulSet", "DaemonSet")
    assert not kinds.JOB.rollable and kinds.WORKLOAD_KINDS[-1] == "Job"


def test_event_lines_joins_events_spread_over_lines_and_skips_other_output():
    events: list[dict] = []
    lines = EventLines(events.append)
    lines.feed("error: something kubectl said")
    lines.feed('{"type": "ADDED", "object": {"metadata":')
    lines.feed('  {"name": "web"}}}')
    lines.feed('{"type":"MODIFIED","object":{}}')
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED"]
    assert events[0]["object"]["metadata"]["name"] == "web"


def test_event_lines_drop_an_event_cut_off_by_a_dropped_stream():
    events: list[dict] = []
    lines = EventLines(events.append)
    lines.feed('{"type": "ADDED", "object": {"metadata": {"na')
    lines.feed('{"type":"MODIFIED","object":{}}')
    assert [e["type"] for e in events] == ["MODIFIED"]


def test_event_lines_ignore_kubectl_messages_between_the_lines_of_an_event():
    events: list[dict] = []
    lines = EventLines(events.append)
    lines.feed('{"type": "ADDED", "object": {"metadata":')
    lines.feed("Warning: something the server said")
    lines.feed('  {"name": "web"}}}')
    assert [e["object"]["metadata"]["name"] for e in events] == ["web"]


def test_a_final_state_is_told_before_its_verdict_can_end_the_wait():
    told: list[tuple[str, bool]] = []
    board = Board([WorkloadRef("Deployment", "web")],
                  lambda ref, state: told.append((state.message, board.settled())))
    board.event("Deployment", {"type": "ADDED", "object": deployment()})
    assert told == [('deployment "web" successfully rolled out', False)]
    assert board.settled()
