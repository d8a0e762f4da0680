"""The sandbox serving one ``kubectl apply --server-side`` of an application's objects.

Run: ``.venv/bin/python benchmarks/sandbox_apply.py [--workloads 200]``. Creates a Namespace
and, per workload, a ConfigMap, a Secret, a Service and a Deployment (4 W + 1 objects), then
times a server-side dry run and an apply of a new release of all of them (one kubectl
process each, as the tasks send them), with the CPU the sandbox spent (it runs in this
process) and kubectl's. What the simulated cluster costs per object, not the tool. Not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.project import real_kubectl  # noqa: E402
from globepay_tasks.sandbox import Sandbox  # noqa: E402

NAMESPACE = "bench"


def objects(workloads: int, release: str) -> list[dict]:
    """The Namespace and 4 objects a workload, ``release`` in each ConfigMap and image."""
    found: list[dict] = [{"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": NAMESPACE}}]
    for index in range(workloads):
        name, meta = f"w{index}", {"name": f"w{index}", "namespace": NAMESPACE}
        labels = {"app": name}
        found += [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
             "data": {"RELEASE": release}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
             "stringData": {"TOKEN": f"{name}-token"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": meta,
             "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
                "replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                    "name": "app", "image": f"registry.example/{name}:{release}",
                    "envFrom": [{"configMapRef": {"name": name}}]}]}}}},
        ]
    return found


def apply(kubeconfig: Path, manifest: Path, items: list[dict], *, dry_run: bool) -> None:
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    argv = [real_kubectl(), "--kubeconfig", str(kubeconfig), "apply", "-f", str(manifest),
            "--server-side", "--field-manager=globepay-tasks", "--force-conflicts",
            "--output", "name", *(["--dry-run=server"] if dry_run else [])]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(Path(tmp) / "kubeconfig", clusters=("dev",)) as sandbox:
        manifest = Path(tmp) / "manifest.json"
        apply(sandbox.kubeconfig, manifest, objects(args.workloads, "1"), dry_run=False)
        count = 4 * args.workloads + 1
        print(f"sandbox serving kubectl apply --server-side of {count} objects")
        for label, dry_run in (("dry run", True), ("apply", False)):
            wall, cpu, kubectl = time.perf_counter(), time.process_time(), children_cpu()
            apply(sandbox.kubeconfig, manifest, objects(args.workloads, "2"), dry_run=dry_run)
            print(f"  {label:8s} wall {time.perf_counter() - wall:5.2f} s   sandbox CPU "
                  f"{time.process_time() - cpu:5.2f} s   kubectl CPU "
                  f"{children_cpu() - kubectl:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
