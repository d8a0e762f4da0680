"""The service proxy (``/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH``) and pod logs.

There are no real pods: the proxy answers on behalf of the selected pods with a JSON document
naming the image and revision they run, but only when every selected pod is ready.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, not_found, service_unavailable
from .podutil import container_image, is_ready, revision_of
from .resources import by_kind
from .selectors import map_selector_matches
from .store import Store

SERVICE = by_kind("v1", "Service")
POD = by_kind("v1", "Pod")


def _split_name(name_port: str) -> tuple[str, str | None]:
    """``web``, ``web:80``, ``web:http``, ``https:web:443`` -> (name, port or None)."""
    parts = name_port.split(":")
    if len(parts) == 3:
        return parts[1], parts[2] or None
    if len(parts) == 2:
        return parts[0], parts[1] or None
    return parts[0], None


def _port_matches(service: dict, port: str) -> bool:
    for entry in (service.get("spec") or {}).get("ports") or []:
        if port == entry.get("name") or port == str(entry.get("port")):
            return True
    return False


def service_proxy(store: Store, namespace: str, name_port: str, path: str) -> tuple[int, Any]:
    """(HTTP status, JSON body) for a proxied request to a Service."""
    name, port = _split_name(name_port)
    with store.lock:
        service = store.peek(SERVICE, namespace, name)
        if service is None:
            raise not_found(SERVICE, name)
        if port is not None and not _port_matches(service, port):
            raise service_unavailable(f'no service port "{port}" found for service "{name}"')
        selector = (service.get("spec") or {}).get("selector")
        pods = sorted(
            (p for p in store.items(POD, namespace)
             if map_selector_matches(selector, (p.get("metadata") or {}).get("labels"))
             and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")),
            key=lambda p: p["metadata"]["name"],
        )
        if not pods or not all(is_ready(p) for p in pods):
            raise service_unavailable(f'no endpoints available for service "{name}"')
        first = pods[0]
        return 200, {
            "service": name,
            "path": "/" + path,
            "image": container_image(first),
            "revision": revision_of(store, first),
        }


def pod_log(store: Store, namespace: str, name: str) -> str:
    """A short simulated log of a pod."""
    pod = store.get(POD, namespace, name)
    if pod is None:
        raise not_found(POD, name)
    phase = (pod.get("status") or {}).get("phase", "Pending")
    if phase == "Pending":
        raise ApiError(400, "BadRequest", f'container "{_first_container(pod)}" in pod "{name}" '
                       "is waiting to start: trying and failing to pull image")
    return f"sandbox: simulated container {_first_container(pod)} ({container_image(pod)})\n"


def _first_container(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("name", "")
