"""Which sandbox clusters serve a configuration's environments, and the configuration that
points the tasks at them."""

from __future__ import annotations

from pathlib import Path

from globepay_tasks.config import load_settings
from globepay_tasks.local_sandbox import ServedCluster, overlay, served


def test_one_cluster_per_context_of_the_order() -> None:
    settings = load_settings({"order": ["qa", "uat", "live"], "environments": {
        "qa": {"context": "shared"}, "uat": {"context": "shared", "namespace": "uat"},
        "live": {"targets": [{"context": "arn:aws:eks:eu/live", "name": "eu"},
                             {"context": "gke_live_us"}]},
        "unused": {}}})
    assert served(settings) == [
        ServedCluster("qa", "shared", (("qa", "globepay-qa"), ("uat", "uat"))),
        ServedCluster("live-eu", "arn:aws:eks:eu/live", (("live/eu", "globepay-live"),)),
        ServedCluster("live-gke-live-us", "gke_live_us",
                      (("live/gke_live_us", "globepay-live"),)),
    ]


def test_cluster_names_stay_apart() -> None:
    settings = load_settings({"order": ["live", "live-eu"], "environments": {
        "live": {"targets": [{"context": "eks", "name": "eu"}]}, "live-eu": {}}})
    assert [(c.name, c.context) for c in served(settings)] == [("live-eu", "eks"),
                                                               ("live-eu-2", "globepay-live-eu")]


def test_overlay_names_contexts_only_where_the_configuration_has_none() -> None:
    settings = load_settings({"order": ["qa", "live"], "environments": {
        "qa": {}, "live": {"context": "prod-eks", "server": "https://eks.example:443"}}})
    assert overlay(settings, Path("/p/.sandbox/kubeconfig")) == {"globepay": {
        "kubeconfig": "/p/.sandbox/kubeconfig",
        "environments": {"qa": {"context": "globepay-qa"}, "live": {"server": None}}}}
