"""One line instead of a traceback when Invoke cannot parse a configuration file.

Invoke reads ``invoke.yaml`` (and ``-f FILE``) after it has imported the task collection, and
a YAML syntax error there would end the run with a traceback. The hook installed here prints
``error: invalid YAML in FILE line L, column C: PROBLEM`` instead, and the process ends with
`ExitStatus.ERROR` (Python's status after an uncaught exception); every other exception goes
to the previous hook.
"""

from __future__ import annotations

import sys
from types import TracebackType

_INSTALLED = False


def _yaml_error_line(error: BaseException) -> str | None:
    """The one-line description of a PyYAML error (Invoke's vendored copy included)."""
    if not any(cls.__name__ == "YAMLError" for cls in type(error).__mro__):
        return None
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return f"error: invalid YAML in the configuration: {problem}"
    return (f"error: invalid YAML in {mark.name} line {mark.line + 1}, column "
            f"{mark.column + 1}: {problem}")


def install() -> None:
    """Install the hook once (chaining to the one that was there)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException,
             traceback: TracebackType | None) -> None:
        line = _yaml_error_line(error)
        if line is None:
            previous(kind, error, traceback)
        else:
            sys.stderr.write(line + "\n")

    sys.excepthook = hook
