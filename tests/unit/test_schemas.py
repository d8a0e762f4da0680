"""Offline validation against the official Kubernetes schemas (kubernetes-validate)."""

from __future__ import annotations

from globepay_tasks import schemas


def deployment(**spec: object) -> dict:
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template, **spec}}


def test_a_valid_object_has_no_problems():
    assert schemas.problems([deployment(replicas=2)]) == []


def test_every_fault_of_every_object_is_named_in_the_servers_words():
    bad = deployment(replicas="two", progressDeadlineSecond=120)
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"name": "http"}]}}
    assert schemas.problems([bad, service]) == [
        ("deployment/web", 'unknown field "spec.progressDeadlineSecond"'),
        ("deployment/web", "spec.replicas: 'two' is not of type 'integer', 'null'"),
        ("deployment/web", 'unknown field "spec.template.spec.containers[0].imagePullPolicyy"'),
        ("service/web", "spec.ports[0]: 'port' is a required property"),
    ]


def test_custom_resources_are_not_checked_and_versions_fall_back_to_the_newest():
    assert schemas.problems([{"apiVersion": "example.com/v1", "kind": "Widget",
                              "metadata": {"name": "w"}, "spec": {"anything": 1}}]) == []
    assert schemas.schema_version("v1.37.1") == "1.37"
    assert schemas.schema_version("v1.99.0") == schemas.schema_version(None) == "1.37"


def test_without_the_schemas_package_the_error_names_the_extra(monkeypatch):
    import sys

    import pytest

    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    schemas._validator.cache_clear()
    with pytest.raises(schemas.SchemasMissing, match=r"pip install 'globepay-tasks\[validate\]'"):
        schemas.problems([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    schemas._validator.cache_clear()
