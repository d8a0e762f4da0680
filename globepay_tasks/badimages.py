"""Known-bad images of an environment: marked by a rollback, refused by later promotions.

The marks live in the environment's namespace, in the ConfigMap ``globepay-bad-images``
(key ``marks.json``: a list of marks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from . import images
from .errors import ConfigError
from .kubectl import Target
from .runner import Runner
from .snapshot import read_optional

CONFIGMAP = "globepay-bad-images"
KEY = "marks.json"


@dataclass(frozen=True)
class Mark:
    """One image rolled away from: the reference, its digest when known, and why."""

    image: str
    digest: str = ""
    workload: str = ""
    marked_at: str = ""
    record: str = ""
    actor: str = ""
    reason: str = ""

    def matches(self, ref: str) -> bool:
        """The same reference, or one pinning the same digest."""
        return ref == self.image or bool(self.digest) and images.digest(ref) == self.digest

    def describe(self) -> str:
        by = f" by {self.actor}" if self.actor else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.image} rolled back at {self.marked_at}{by} (record {self.record}){why}"


def read(runner: Runner, target: Target) -> list[Mark]:
    """The marks of the target's namespace (none when the ConfigMap does not exist)."""
    return marks_in(read_optional(runner, target, "configmap", CONFIGMAP))


def marks_in(configmap: dict | None) -> list[Mark]:
    """The marks a ``globepay-bad-images`` ConfigMap holds (none for None)."""
    if configmap is None:
        return []
    data = (configmap.get("data") or {}).get(KEY) or "[]"
    fields = set(Mark.__dataclass_fields__)
    return [Mark(**{k: v for k, v in item.items() if k in fields}) for item in json.loads(data)
            if isinstance(item, dict) and item.get("image")]


def manifest(namespace: str, marks: Iterable[Mark]) -> dict:
    """The ConfigMap holding ``marks``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "globepay-tasks"}},
        "data": {KEY: json.dumps([asdict(mark) for mark in marks], indent=1)},
    }


def refused(marks: Iterable[Mark], refs: Iterable[str]) -> list[tuple[str, Mark]]:
    """Each reference in ``refs`` that a mark matches, with the mark."""
    marks = list(marks)
    return [(ref, mark) for ref in sorted(set(refs)) for mark in marks if mark.matches(ref)]


def refusal(env: str, hits: list[tuple[str, Mark]]) -> ConfigError:
    """The one-line error for a promotion that would run a known-bad image."""
    ref, mark = hits[0]
    more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
    return ConfigError(f"{env}: image {ref} is marked bad in {env}: {mark.describe()}{more}; "
                       f"pass --allow-bad to promote it anyway; {env} was not changed")


def merged(marks: Iterable[Mark], added: Iterable[Mark], cleared: Iterable[str]) -> list[Mark]:
    """``marks`` with ``added`` (replacing marks of the same image) and without those
    matching a reference in ``cleared``."""
    added = list(added)
    new = {mark.image for mark in added}
    gone = list(cleared)
    kept = [m for m in marks if m.image not in new and not any(m.matches(r) for r in gone)]
    return kept + added
