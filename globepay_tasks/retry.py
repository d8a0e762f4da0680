"""Which kubectl failures are transient, and how often and how long to retry them."""

from __future__ import annotations

from dataclasses import dataclass

#: Lower-cased fragments of kubectl's error text that mean "try again": the connection was
#: refused, reset or cut, a timeout hit, or the server answered 5xx (or 429).
TRANSIENT_MARKERS = (
    "connection refused",
    "was refused - did you specify the right host",
    "connection reset",
    "broken pipe",
    "i/o timeout",
    "tls handshake timeout",
    "context deadline exceeded",
    "client.timeout exceeded",
    "timeout awaiting response headers",
    "unexpected eof",
    "http2: server sent goaway",
    "http2: client connection lost",
    "the server is currently unable",
    "(serviceunavailable)",
    "(internalerror)",
    "internal error",
    "(servertimeout)",
    "(timeout)",
    "(toomanyrequests)",
    "the server has received too many requests",
    "etcdserver: request timed out",
    "please retry",
)


#: Lower-cased fragments of kubectl's error text that mean the API server did not answer
#: within the request timeout (``--request-timeout``).
NOT_ANSWERING_MARKERS = (
    "context deadline exceeded",
    "client.timeout exceeded",
    "timeout awaiting response headers",
    "kubectl stopped: no answer within",
)


def not_answering(text: str) -> bool:
    """True when kubectl's output says the API server did not answer in time."""
    lowered = text.lower()
    return any(marker in lowered for marker in NOT_ANSWERING_MARKERS)


def is_transient(text: str) -> bool:
    """True when kubectl's output names a failure that a retry may get past."""
    lowered = text.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all (1 = no retry), waiting ``backoff`` seconds, doubling, between."""

    attempts: int = 3
    backoff: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1, 2, ...)."""
        return min(self.max_delay, self.backoff * 2 ** (retry - 1))
