"""Raw HTTP access to a sandbox for the sandbox tests."""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Callable
from typing import Any

from globepay_tasks.sandbox import Sandbox


def request(sandbox: Sandbox, method: str, path: str, *, cluster: str | None = "dev",
            body: Any = None, content_type: str = "application/json",
            auth: str | None = "bearer", headers: dict[str, str] | None = None,
            timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    """One raw HTTP request; ``path`` is cluster-relative unless ``cluster`` is None.

    Returns (status, headers, body) where body is parsed JSON when possible, else text.
    """
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=timeout)
    sent = dict(headers or {})
    if auth == "bearer":
        sent["Authorization"] = f"Bearer {sandbox.token}"
    elif auth == "basic":
        creds = base64.b64encode(f"{cluster}:{sandbox.token}".encode()).decode()
        sent["Authorization"] = f"Basic {creds}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent["Content-Type"] = content_type
    full = f"/clusters/{cluster}{path}" if cluster else path
    try:
        conn.request(method, full, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        text = raw.decode(errors="replace")
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed
    finally:
        conn.close()


def eventually(check: Callable[[], object], timeout: float = 10) -> object:
    """``check()``'s first true value, asked until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)
