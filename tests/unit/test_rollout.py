"""kubectl's rollout status rules, judged from objects as the API serves them."""

from __future__ import annotations

from globepay_tasks import rollout
from globepay_tasks.watch import EventLines


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
    assert rollout.status(deployment(observed=1)).message == (
        "Waiting for deployment spec update to be observed...")
    assert rollout.status(deployment(updated=1, total=3)).message == (
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
        "updated...")
    assert rollout.status(deployment(total=5)).message == (
        'Waiting for deployment "web" rollout to finish: 2 old replicas are pending '
        "termination...")
    assert rollout.status(deployment(available=2)).message == (
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
        "available...")
    done = rollout.status(deployment())
    assert done.done and not done.failed
    assert done.message == 'deployment "web" successfully rolled out'


def test_deployment_progress_deadline_is_a_failure_once_observed():
    failed = rollout.status(deployment(updated=1, progressing="ProgressDeadlineExceeded"))
    assert failed.failed and failed.error == (
        'error: deployment "web" exceeded its progress deadline')
    stale = rollout.status(deployment(observed=1, progressing="ProgressDeadlineExceeded"))
    assert not stale.done and not stale.failed


def test_statefulset_and_daemonset_viewers():
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate",
                                                      "rollingUpdate": {"partition": 1}}},
           "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}}
    assert rollout.status(sts).message == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...")
    sts["status"]["updatedReplicas"] = 2
    assert rollout.status(sts).done
    sts["status"]["readyReplicas"] = 1
    assert rollout.status(sts).message == "Waiting for 2 pods to be ready..."
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert rollout.status(sts).error == (
        "error: rollout status is only available for RollingUpdate strategy type")

    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 4},
          "spec": {"updateStrategy": {"type": "RollingUpdate"}},
          "status": {"observedGeneration": 4, "desiredNumberScheduled": 2,
                     "updatedNumberScheduled": 2, "numberAvailable": 1}}
    assert rollout.status(ds).message == (
        'Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...')
    ds["status"]["numberAvailable"] = 2
    assert rollout.status(ds).message == 'daemon set "agent" successfully rolled out'


def test_job_complete_or_failed():
    job = {"kind": "Job", "metadata": {"name": "migrate"}, "status": {}}
    assert not rollout.status(job).done
    job["status"]["conditions"] = [{"type": "Failed", "status": "True"}]
    assert rollout.status(job).error == 'job "migrate" failed'
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert rollout.status(job).done and not rollout.status(job).failed


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
