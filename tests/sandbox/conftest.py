"""Fixtures of the sandbox tests: a small kustomization (raw HTTP helpers: sandbox_http.py).

``shop`` writes ``kust/{base,v2,broken,slow}`` under tmp_path (namespace ``shop``, Service
``web``, Deployments ``web`` (2 replicas, nginx:1.25) and ``api``):
``v2`` sets nginx:1.26, ``broken`` nginx:broken (progressDeadlineSeconds 10 simulated =
0.5 s real), ``slow`` nginx:1.27 with a 400 s (20 s real) rollout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: shop
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 80
"""
WEB = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  progressDeadlineSeconds: 10
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: prod
"""
API = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels:
    app: api
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: example/api:1.0
"""
SLOW_PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    sandbox.globepay.dev/rollout-seconds: "400"
spec:
  progressDeadlineSeconds: 600
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The ``kust`` directory with base, v2, broken and slow overlays."""
    root = tmp_path / "kust"
    write(root / "base" / "namespace.yaml", NAMESPACE)
    write(root / "base" / "service.yaml", SERVICE)
    write(root / "base" / "web.yaml", WEB)
    write(root / "base" / "api.yaml", API)
    write(root / "base" / "kustomization.yaml",
          "resources:\n- namespace.yaml\n- service.yaml\n- web.yaml\n- api.yaml\n")
    for name, tag in (("v2", "1.26"), ("broken", "broken"), ("slow", "1.27")):
        text = f"resources:\n- ../base\nimages:\n- name: nginx\n  newTag: \"{tag}\"\n"
        if name == "slow":
            write(root / name / "slow.yaml", SLOW_PATCH)
            text += "patches:\n- path: slow.yaml\n"
        write(root / name / "kustomization.yaml", text)
    return root
