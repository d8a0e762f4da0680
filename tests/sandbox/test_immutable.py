"""Immutable fields on update, without HTTP: the Service registry's carry-over of allocated
cluster IPs and the PersistentVolumeClaim rules (the kubectl side is in
test_kubectl_validation.py)."""

from __future__ import annotations

import copy

import pytest

from globepay_tasks.sandbox.errors import ApiError
from globepay_tasks.sandbox.immutable import PVC_IMMUTABLE, carry_allocated, validate_update
from globepay_tasks.sandbox.resources import ResourceType, by_kind

SERVICES = by_kind("v1", "Service")
JOBS = by_kind("batch/v1", "Job")
CLAIMS = by_kind("v1", "PersistentVolumeClaim") or ResourceType(
    "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", True)


def service(**spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80}], **spec}}


def claim(status: dict | None = None, **spec: object) -> dict:
    base = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
            "volumeMode": "Filesystem"}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {**base, **spec}, "status": status or {"phase": "Pending"}}


def refused(rt: ResourceType, old: dict, new: dict) -> str:
    with pytest.raises(ApiError) as caught:
        validate_update(rt, old, new)
    assert (caught.value.code, caught.value.reason) == (422, "Invalid")
    return caught.value.message


LIVE = service(clusterIP="10.96.0.50", clusterIPs=["10.96.0.50"])


def test_an_update_without_cluster_ips_keeps_the_allocated_ones() -> None:
    new = service()
    carry_allocated(SERVICES, LIVE, new)
    assert (new["spec"]["clusterIP"], new["spec"]["clusterIPs"]) == ("10.96.0.50", ["10.96.0.50"])
    validate_update(SERVICES, LIVE, new)


def test_a_changed_cluster_ip_drags_the_list_and_is_refused() -> None:
    new = service(clusterIP="10.96.0.99", clusterIPs=["10.96.0.50"])
    carry_allocated(SERVICES, LIVE, new)
    assert new["spec"]["clusterIPs"] == ["10.96.0.99"]
    assert refused(SERVICES, LIVE, new) == (
        'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not '
        "change once set")


def test_external_name_services_have_no_cluster_ip_to_keep() -> None:
    new = service(type="ExternalName", externalName="db.example.com")
    carry_allocated(SERVICES, LIVE, new)
    assert "clusterIP" not in new["spec"]
    validate_update(SERVICES, LIVE, new)


def test_job_template_and_selector() -> None:
    old = {"metadata": {"name": "migrate"},
           "spec": {"selector": {"matchLabels": {"a": "1"}}, "template": {"x": 1}}}
    new = copy.deepcopy(old)
    new["spec"]["template"] = {"x": 2}
    new["spec"]["selector"] = {"matchLabels": {"a": "2"}}
    assert refused(JOBS, old, new) == (
        'Job.batch "migrate" is invalid: [spec.selector: Invalid value: {"matchLabels":{"a":'
        '"2"}}: field is immutable, spec.template: Invalid value: ...: field is immutable]')


def test_claim_spec_is_immutable() -> None:
    message = refused(CLAIMS, claim(), claim(accessModes=["ReadWriteMany"]))
    assert message.startswith(f'PersistentVolumeClaim "data" is invalid: spec: Forbidden: '
                              f"{PVC_IMMUTABLE}\n  core.PersistentVolumeClaimSpec{{\n")
    assert '- \tAccessModes: ["ReadWriteOnce"],\n+ \tAccessModes: ["ReadWriteMany"],' in message


@pytest.mark.parametrize("new", [
    claim(resources={"requests": {"storage": "2Gi"}}),  # storage may change
    claim(volumeName="pv-1"),  # bound once
    claim(storageClassName="standard"),  # a first storage class (retroactive default)
])
def test_claim_changes_that_are_allowed(new: dict) -> None:
    validate_update(CLAIMS, claim(), new)


def test_claim_storage_may_not_shrink_below_its_capacity() -> None:
    old = claim({"phase": "Bound", "capacity": {"storage": "1Gi"}},
                resources={"requests": {"storage": "2Gi"}})
    validate_update(CLAIMS, old, claim(resources={"requests": {"storage": "1536Mi"}}))
    assert refused(CLAIMS, old, claim(resources={"requests": {"storage": "1024Mi"}})).endswith(
        "spec.resources.requests.storage: Forbidden: field can not be less than "
        "status.capacity")
    assert '+ \tStorageClassName: "b",' in refused(
        CLAIMS, claim(storageClassName="a"), claim(storageClassName="b"))
