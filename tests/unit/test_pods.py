from globepay_tasks import pods
from globepay_tasks.kubectl import WorkloadRef


def _pod(name: str, owner: tuple[str, str], waiting: dict | None) -> dict:
    state = {"waiting": waiting} if waiting else {"running": {}}
    return {"kind": "Pod", "metadata": {"name": name, "ownerReferences": [
        {"kind": owner[0], "name": owner[1]}]},
            "status": {"containerStatuses": [{"name": "c", "state": state}]}}


def test_reasons_name_each_distinct_pod_reason_once_and_a_jobs_failed_condition():
    pull = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:broken"'}
    objects = [
        _pod("backend-7c9f-abcde", ("ReplicaSet", "backend-7c9f"), pull),
        _pod("backend-7c9f-fghij", ("ReplicaSet", "backend-7c9f"), pull),
        _pod("backend-worker-1a2b-xyz", ("ReplicaSet", "backend-worker-1a2b"),
             {"reason": "CrashLoopBackOff", "message": "back-off 10s"}),
        _pod("backend-6b8d-klmno", ("ReplicaSet", "backend-6b8d"),
             {"reason": "ContainerCreating"}),
        {"kind": "Job", "metadata": {"name": "migrate"}, "status": {"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}},
    ]
    assert pods.reasons(objects, WorkloadRef("Deployment", "backend")) == [
        'pod backend-7c9f-abcde: ImagePullBackOff: Back-off pulling image "x:broken"']
    assert pods.reasons(objects, WorkloadRef("Deployment", "backend-worker")) == [
        "pod backend-worker-1a2b-xyz: CrashLoopBackOff: back-off 10s"]
    assert pods.reasons(objects, WorkloadRef("Job", "migrate")) == [
        "job/migrate: BackoffLimitExceeded: Job has reached the specified backoff limit"]
    assert pods.reasons(objects, WorkloadRef("StatefulSet", "db")) == []


def test_a_crash_loop_is_one_line_although_the_kubelet_names_each_pod():
    def crashing(pod: str) -> dict:
        return _pod(pod, ("ReplicaSet", "backend-7c9f"), {
            "reason": "CrashLoopBackOff",
            "message": f"back-off 40s restarting failed container=c pod={pod}_ns(uid-{pod})"})

    said = pods.reasons([crashing("backend-7c9f-a"), crashing("backend-7c9f-b")],
                        WorkloadRef("Deployment", "backend"))

    assert said == ["pod backend-7c9f-a: CrashLoopBackOff: back-off 40s restarting failed "
                    "container=c pod=backend-7c9f-a_ns(uid-backend-7c9f-a)"]
