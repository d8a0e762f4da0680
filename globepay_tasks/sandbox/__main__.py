"""``python -m globepay_tasks.sandbox --kubeconfig PATH [...]``: run the sandbox until
SIGTERM/SIGINT, then exit 0."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .app import Sandbox, version_document


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _version(text: str) -> str:
    try:
        version_document(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _clusters(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("at least one cluster name is needed")
    for name in names:
        if not name.replace("-", "").isalnum() or name != name.lower():
            raise argparse.ArgumentTypeError(f"invalid cluster name {name!r}")
    return names


def _context(text: str) -> tuple[str, str]:
    cluster, sep, context = text.partition("=")
    if not sep or not cluster or not context:
        raise argparse.ArgumentTypeError("must look like CLUSTER=CONTEXT")
    return cluster, context


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m globepay_tasks.sandbox",
        description="Simulated Kubernetes API server (one path prefix per cluster) for kubectl.")
    parser.add_argument("--kubeconfig", required=True,
                        help="where to write the kubeconfig once the server is ready")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any)")
    parser.add_argument("--clusters", type=_clusters, default=["dev", "staging", "prod"],
                        help="comma-separated cluster names (default dev,staging,prod)")
    parser.add_argument("--context", type=_context, action="append", default=[],
                        metavar="CLUSTER=CONTEXT",
                        help="name of a cluster's kube context (default globepay-<cluster>)")
    parser.add_argument("--rollout-seconds", type=_non_negative, default=5.0,
                        help="simulated seconds a workload takes to roll out (default 5)")
    parser.add_argument("--time-scale", type=_positive, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--server-version", type=_version, default="1.32.4",
                        help="version reported by GET /version (default 1.32.4)")
    parser.add_argument("--log", help="append one line per request to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sandbox = Sandbox(args.kubeconfig, port=args.port, clusters=args.clusters,
                          contexts=dict(args.context), rollout_seconds=args.rollout_seconds,
                          time_scale=args.time_scale,
                          server_version=args.server_version, log=args.log)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    try:
        sandbox.start()
    except OSError as exc:
        print(f"sandbox: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    served = ", ".join(f"{c} (context {name})" for c, name in sandbox.contexts.items())
    print(f"sandbox: serving {served} at {sandbox.url} "
          f"(kubeconfig {args.kubeconfig})", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    print("sandbox: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
