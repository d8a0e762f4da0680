"""Median request latency of the sandbox with 500 stored objects and 50 open watches.

Run: ``.venv/bin/python benchmarks/sandbox_latency.py [--objects 500] [--watches 50]
[--requests 2000]``. Prints one line per request kind and the overall median in ms. Not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from globepay_tasks.sandbox import Sandbox  # noqa: E402

NS = "/api/v1/namespaces/default/configmaps"


def _connection(sandbox: Sandbox) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=30)


def _call(conn: http.client.HTTPConnection, sandbox: Sandbox, method: str, path: str,
          body: dict | None = None, content_type: str = "application/json") -> float:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    started = time.perf_counter()
    conn.request(method, f"/clusters/dev{path}", body=data, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status >= 400:
        raise RuntimeError(f"{method} {path} -> {response.status}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--watches", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(Path(tmp) / "kubeconfig", clusters=("dev",)) as sandbox:
        conn = _connection(sandbox)
        for i in range(args.objects):
            _call(conn, sandbox, "POST", NS, {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": f"cm-{i}",
                                                           "labels": {"n": str(i % 10)}},
                                              "data": {"value": "x" * 200}})
        watchers = []
        for i in range(args.watches):
            watch = _connection(sandbox)
            selector = f"&labelSelector=n%3D{i % 10}" if i % 2 else ""
            watch.request("GET", f"/clusters/dev{NS}?watch=true&timeoutSeconds=600{selector}",
                          headers={"Authorization": f"Bearer {sandbox.token}"})
            watch.getresponse()
            watchers.append(watch)
        while sandbox.store("dev").watcher_count < args.watches:
            time.sleep(0.01)
        timings: dict[str, list[float]] = {"get": [], "patch": [], "list(selector)": []}
        for i in range(args.requests):
            name = f"cm-{i % args.objects}"
            kind = ("get", "patch", "get", "list(selector)")[i % 4]
            if kind == "get":
                timings[kind].append(_call(conn, sandbox, "GET", f"{NS}/{name}"))
            elif kind == "patch":
                timings[kind].append(_call(conn, sandbox, "PATCH", f"{NS}/{name}",
                                           {"data": {"value": str(i)}},
                                           "application/merge-patch+json"))
            else:
                timings[kind].append(_call(conn, sandbox, "GET", f"{NS}?labelSelector=n%3D3"))
        for watch in watchers:
            watch.close()
        conn.close()
    everything = [t for values in timings.values() for t in values]
    print(f"sandbox latency: {args.objects} objects, {args.watches} open watches, "
          f"{len(everything)} requests")
    for kind, values in timings.items():
        print(f"  {kind:15s} median {statistics.median(values):6.2f} ms   "
              f"p95 {statistics.quantiles(values, n=20)[18]:6.2f} ms")
    print(f"median request latency: {statistics.median(everything):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
