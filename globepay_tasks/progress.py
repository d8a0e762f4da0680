"""Progress lines a person can follow and CI can grep, plus the record a report is made from."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

COLORS = {"ok": "32", "fail": "31", "warn": "33", "head": "1"}


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR") is not None:
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


@dataclass
class Step:
    env: str
    name: str
    message: str
    at: float
    status: str = "info"
    details: dict[str, Any] = field(default_factory=dict)


class Progress:
    """Writes one line per step with the elapsed time, and keeps every step for the report.

    Safe to call from several threads (parallel waits): each line is written whole.
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.color = use_color(self.stream) if color is None else color
        self.started = time.monotonic()
        self.steps: list[Step] = []
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _paint(self, text: str, status: str) -> str:
        code = COLORS.get(status)
        return f"\033[{code}m{text}\033[0m" if self.color and code else text

    def write(self, text: str, status: str = "info") -> None:
        with self._lock:
            self.stream.write(self._paint(text, status) + "\n")
            self.stream.flush()

    def step(self, env: str, name: str, message: str, status: str = "info",
             **details: Any) -> None:
        """Record a step and print ``[  1.2s] env  name: message``."""
        at = self.elapsed()
        with self._lock:
            self.steps.append(Step(env, name, message, at, status, details))
        self.write(f"[{at:6.1f}s] {env:<8} {name}: {message}", status)

    def output(self, env: str, source: str, line: str) -> None:
        """A line of a command's own output, prefixed with the env and what produced it."""
        self.write(f"[{self.elapsed():6.1f}s] {env:<8} {source} | {line}")

    def header(self, text: str) -> None:
        self.write(f"== {text}", "head")
