"""Phases (``globepay.dev/phase``) and the plan of every rendered object: which phase each
object goes with, what changes in it (a Secret's keys, never its values), and the order the
plan is shown in."""

from __future__ import annotations

import json

import pytest

from globepay_tasks import fielddiff, manifests, phases
from globepay_tasks.errors import ConfigError
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION, WorkloadRef, workloads_in
from globepay_tasks.manifests import Rendered
from globepay_tasks.promotion.deploy import in_phases
from globepay_tasks.promotion.plan import (
    CHANGE,
    CREATE,
    SAME,
    kind_counts,
    ordered,
    predict,
    predict_others,
    summarize,
)
from globepay_tasks.snapshot import Snapshot


def obj(kind: str, name: str, phase: str | None = None, **fields: object) -> dict:
    version = {"Job": "batch/v1", "Deployment": "apps/v1"}.get(kind, "v1")
    metadata: dict = {"name": name, "namespace": "globepay-dev"}
    if phase:
        metadata["annotations"] = {phases.ANNOTATION: phase}
    return {"apiVersion": version, "kind": kind, "metadata": metadata, **fields}


def pod(image: str, **spec: object) -> dict:
    return {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {
        "containers": [{"name": "app", "image": image, **spec}]}}}


def applied(found: dict) -> dict:
    """``found`` as the server keeps it after ``kubectl apply``: kubectl records the object
    it sent (``annotations: {}`` when it had none), the server adds its own fields."""
    sent = json.loads(json.dumps(found))
    sent["metadata"].setdefault("annotations", {})
    stored = json.loads(json.dumps(found))
    stored["metadata"]["annotations"] = {**(found["metadata"].get("annotations") or {}),
                                         LAST_APPLIED_ANNOTATION: json.dumps(sent)}
    stored["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2026-01-01")
    return stored


def rendered(*objects: dict) -> Rendered:
    manifest = "---\n".join(json.dumps(o) + "\n" for o in objects)
    return Rendered("overlay", objects, tuple(workloads_in(objects)), "overlay", manifest)


def migration(image: str = "backend:2") -> dict:
    return obj("Job", "migrate", "pre-deploy", spec=pod(
        image, envFrom=[{"configMapRef": {"name": "config"}}, {"secretRef": {"name": "db"}}]))


def backend(image: str = "backend:2") -> dict:
    spec = pod(image, envFrom=[{"configMapRef": {"name": "config"}}])
    spec["template"]["spec"]["serviceAccountName"] = "backend"
    return obj("Deployment", "backend", spec=spec)


def test_what_a_pre_deploy_pod_uses_goes_with_it_and_the_namespace_goes_first():
    objects = [obj("Namespace", "globepay-dev"), obj("ConfigMap", "config"),
               obj("Secret", "db"), obj("ServiceAccount", "backend"), obj("Service", "backend"),
               backend(), migration(), obj("ConfigMap", "late", "post-deploy")]

    assigned = phases.assign(objects)

    assert assigned == {
        ("Namespace", "globepay-dev"): "pre-deploy", ("ConfigMap", "config"): "pre-deploy",
        ("Secret", "db"): "pre-deploy", ("ServiceAccount", "backend"): "deploy",
        ("Service", "backend"): "deploy", ("Deployment", "backend"): "deploy",
        ("Job", "migrate"): "pre-deploy", ("ConfigMap", "late"): "post-deploy"}
    parts = in_phases(rendered(*objects))
    assert [(phase, [o["metadata"]["name"] for o in part.objects]) for phase, part in parts] == [
        ("pre-deploy", ["globepay-dev", "config", "db", "migrate"]),
        ("deploy", ["backend", "backend", "backend"]),
        ("post-deploy", ["late"])]
    assert parts[0][1].workloads == (WorkloadRef("Job", "migrate"),)
    assert [o["kind"] for o in parts[0][1].objects] == [
        o["kind"] for o in manifests_of(parts[0][1])], "each phase applies its own documents"


def manifests_of(part: Rendered) -> list[dict]:
    return [json.loads(text) for text in part.manifest.split("---\n") if text.strip()]


def test_without_annotations_everything_is_one_deploy_phase():
    parts = in_phases(rendered(obj("ConfigMap", "config"), backend()))
    assert [phase for phase, _ in parts] == ["deploy"]
    assert parts[0][1].manifest == rendered(obj("ConfigMap", "config"), backend()).manifest


def test_a_phase_that_is_not_one_is_refused_naming_the_object():
    with pytest.raises(ConfigError) as refused:
        phases.assign([obj("Job", "migrate", "predeploy", spec=pod("backend:2"))])
    assert refused.value.message == ("job/migrate: annotation globepay.dev/phase: 'predeploy' "
                                     "is not one of pre-deploy, deploy, post-deploy")


def test_a_subset_keeps_each_document_as_kustomize_rendered_it():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n" \
           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b # kept as written\n"
    objects = (obj("ConfigMap", "a"), obj("ConfigMap", "b"))
    part = manifests.subset(Rendered("o", objects, (), "o", text),
                            lambda o: o["metadata"]["name"] == "b")
    assert part.manifest == text.split("---\n")[1]


def test_changed_fields_come_from_what_the_last_apply_wrote_not_the_servers_defaults():
    before = obj("ConfigMap", "config", data={"LOG_LEVEL": "info", "OLD": "x"})
    live = applied(before)
    live["data"]["ADDED_BY_SOMEONE"] = "y"  # not the apply's: not a change it makes

    assert fielddiff.changed_paths(before, live) == []
    after = obj("ConfigMap", "config", data={"LOG_LEVEL": "debug"})
    assert fielddiff.changed_paths(after, live) == ["data.LOG_LEVEL", "data.OLD"]


def test_an_object_never_applied_is_compared_with_what_the_server_has():
    service = obj("Service", "backend", spec={"ports": [{"name": "http", "port": 80}]})
    live = json.loads(json.dumps(service))
    live["spec"]["ports"][0].update(protocol="TCP", targetPort=80)  # the server's defaults
    live["spec"]["clusterIP"] = "10.0.0.7"
    assert fielddiff.changed_paths(service, live) == []
    service["spec"]["ports"][0]["port"] = 8080
    assert fielddiff.changed_paths(service, live) == ["spec.ports[http].port"]


def test_a_secret_plan_names_keys_never_values():
    old = obj("Secret", "db", data={"password": "b2xk", "user": "YXBw", "gone": "eA=="})
    new = obj("Secret", "db", data={"password": "bmV3", "user": "YXBw"},
              stringData={"token": "s3cr3t-value"})

    planned = predict_others(rendered(new), Snapshot((applied(old),)), {}, False)

    assert [p.describe() for p in planned] == [
        "secret/db: change, keys changed: password; added: token; removed: gone"]
    text = json.dumps([p.describe() for p in planned])
    assert "bmV3" not in text and "s3cr3t" not in text and "b2xk" not in text
    assert predict_others(rendered(new), Snapshot(()), {}, False)[0].describe() == (
        "secret/db: create, keys: password, token, user")


def test_every_object_has_an_action_and_the_plan_is_shown_phase_by_phase():
    objects = (obj("Namespace", "globepay-dev"), obj("ConfigMap", "config", data={"A": "1"}),
               obj("Service", "backend", spec={"ports": [{"port": 80}]}), backend("backend:3"),
               migration("backend:3"))
    live = Snapshot((applied(obj("ConfigMap", "config", data={"A": "1"})),
                     applied(backend("backend:2")), applied(migration("backend:2"))))
    wanted = rendered(*objects)
    assigned = phases.assign(objects)
    workloads = predict(wanted, live.states(wanted.workloads), assigned, live)
    others = predict_others(wanted, live, assigned, namespace_missing=False)

    lines = [f"{p.describe()} [{p.phase}]" for p in ordered([*workloads, *others], wanted)]

    assert lines == [
        "namespace/globepay-dev: unknown, cluster-scoped, not compared [pre-deploy]",
        "configmap/config: unchanged [pre-deploy]",
        "job/migrate: replace, app 2 -> 3 [pre-deploy]",
        "service/backend: create [deploy]",
        "deployment/backend: change, app 2 -> 3 [deploy]"]
    assert summarize([*workloads, *others]) == (
        "1 to change, 1 to replace, 1 to create, 1 unchanged, 1 unknown")
    assert kind_counts(wanted) == (
        "5 objects (1 Namespace, 1 ConfigMap, 1 Service, 1 Deployment, 1 Job)")
    assert [p.action for p in predict_others(wanted, Snapshot(()), assigned, True)] == [
        CREATE, CREATE, CREATE]


def test_a_cluster_scoped_object_read_with_the_namespace_is_compared():
    namespace = obj("Namespace", "globepay-dev", metadata={
        "name": "globepay-dev", "labels": {"team": "pay"}})
    wanted = rendered(namespace)
    described = [
        predict_others(wanted, Snapshot((), cluster_scoped), {}, False)[0].describe()
        for cluster_scoped in ((applied(namespace),), (), None)]
    relabelled = obj("Namespace", "globepay-dev", metadata={
        "name": "globepay-dev", "labels": {"team": "ops"}})
    assert described == ["namespace/globepay-dev: unchanged",
                         "namespace/globepay-dev: create",
                         "namespace/globepay-dev: unknown, cluster-scoped, not compared"]
    assert predict_others(wanted, Snapshot((), (applied(relabelled),)), {}, False)[0].describe(
        ) == "namespace/globepay-dev: change, metadata.labels.team"


def test_a_workload_whose_template_is_the_same_but_another_field_changes_is_a_change():
    before = backend()
    after = backend()
    after["spec"]["replicas"] = 3
    live = Snapshot((applied(before),))
    wanted = rendered(after)
    planned = predict(wanted, live.states(wanted.workloads), None, live)
    assert [(p.action, p.describe()) for p in planned] == [
        (CHANGE, "deployment/backend: change, spec.replicas")]
    same = predict(rendered(before), live.states(wanted.workloads), None, live)
    assert [p.action for p in same] == [SAME]
