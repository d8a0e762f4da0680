"""The library's defaults of the ``globepay`` configuration subtree (``Collection.configure``),
kept apart from their validation (`globepay_tasks.config`) so that loading the tasks imports
nothing else."""

from __future__ import annotations

from typing import Any

HEALTH_GATE = {"python": "globepay_tasks.checks:healthy"}
SMOKE_CHECKS = {"python": "globepay_tasks.checks:smoke"}
PREVIOUS_HEALTH_GATE = {"python": "globepay_tasks.checks:previous_healthy"}
PREVIOUS_SMOKE_CHECKS = {"python": "globepay_tasks.checks:previous_smoke"}


def env_defaults(name: str, *, confirm: bool = False, test_previous: bool = False) -> dict:
    """An environment's keys as the library sets them (``test_previous``: its pre-promotion
    hooks check the environment before it)."""
    pre = [PREVIOUS_HEALTH_GATE, PREVIOUS_SMOKE_CHECKS] if test_previous else []
    return {
        "overlay": f"k8s/overlays/{name}",
        "namespace": f"globepay-{name}",
        "context": None,
        "host": None,
        "gateway": None,
        "targets": [],
        "server": None,
        "timeout": 300,
        "confirm": confirm,
        "pre_promotion": pre,
        "post_promotion": [HEALTH_GATE, SMOKE_CHECKS],
        "keep_images": [],
    }


#: Library defaults, installed with ``Collection.configure``; invoke.yaml and env vars override.
DEFAULTS: dict[str, Any] = {
    "globepay": {
        "kubectl": "kubectl",
        "kubeconfig": None,
        "ssh": {
            "known_hosts": None,
            "accept_unknown_hosts": False,
            "identity_file": None,
            "connect_timeout": 10,
        },
        "order": ["dev", "staging", "prod"],
        "promote_images": True,
        "history_limit": 50,
        "prune": True,
        "lock": {"enabled": True, "name": "globepay-promotion", "ttl_margin": 120},
        "retries": {"attempts": 3, "backoff": 0.5},
        "request_timeout": 30,
        "allow_cluster_scoped": [],
        "smoke_checks": [
            {"service": "backend", "port": "http", "path": "/health/ready"},
            {"service": "frontend", "port": "http", "path": "/"},
        ],
        "environments": {
            "dev": env_defaults("dev"),
            "staging": env_defaults("staging", test_previous=True),
            "prod": env_defaults("prod", confirm=True, test_previous=True),
        },
    }
}
