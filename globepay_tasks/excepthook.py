"""One line instead of a traceback when Invoke cannot load the configuration.

Invoke reads ``invoke.yaml`` and ``-f FILE`` after it has imported the task collection, and
merges them with the library defaults and the ``INVOKE_*`` variables just before a task runs:
outside any task, so an error there would end the run with a traceback. The hook installed
here prints one line instead (``error: invalid YAML in FILE line L, column C: PROBLEM``, a
``-f`` that is a directory or not YAML/JSON, a variable Invoke cannot cast, naming it, a value
that cannot be merged, naming its key and file), and the process ends with `ExitStatus.ERROR`
(Python's status after an uncaught exception); every other exception goes to the previous hook.
The variable and the key are read from the locals of Invoke's frames in the traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

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


def _frames(traceback: TracebackType | None) -> list[FrameType]:
    """The frames of ``traceback``, outermost first."""
    frames = []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    return frames


def _invoke_locals(frames: list[FrameType], module: str, function: str) -> list[dict[str, Any]]:
    """The locals of each call of Invoke's ``module`` (``config.py``) ``function``, outermost
    first."""
    return [frame.f_locals for frame in frames
            if frame.f_code.co_name == function
            and Path(frame.f_code.co_filename).parts[-2:] == ("invoke", module)]


def _file_line(error: BaseException, frames: list[FrameType]) -> str | None:
    """A configuration file Invoke could not read (``_load_file``)."""
    found = _invoke_locals(frames, "config.py", "_load_file")
    if not found or "filepath" not in found[-1]:
        return None
    path = found[-1]["filepath"]
    takes = "-f takes a .yaml, .yml or .json file"
    if not os.path.exists(path):
        return f"error: configuration file {path} does not exist"
    if os.path.isdir(path):
        return f"error: configuration file {path} is a directory ({takes})"
    if type(error).__name__ == "UnknownFileType":
        return f"error: configuration file {path} is not YAML or JSON ({takes})"
    if isinstance(error, json.JSONDecodeError):
        return (f"error: invalid JSON in {path} line {error.lineno}, column {error.colno}: "
                f"{error.msg}")
    if isinstance(error, OSError):
        return f"error: cannot read configuration file {path}: {error.strerror}"
    return f"error: cannot load configuration file {path}: {str(error).splitlines()[0]}"


def _variable_line(error: BaseException, frames: list[FrameType]) -> str | None:
    """An ``INVOKE_*`` variable Invoke could not cast to its key's type (``_path_set``)."""
    found = _invoke_locals(frames, "env.py", "_path_set")
    if not found:
        return None
    where = found[-1]
    loader, key_path = where["self"], where["key_path"]
    variable = f"{loader._prefix}{'_'.join(key_path).upper()}"
    key = ".".join(key_path)
    current = loader._path_get(key_path)
    if isinstance(current, (list, tuple)):
        return (f"error: {variable} cannot set {key}, a list: set it in a configuration "
                "file (-f FILE) instead")
    kind = {int: "a whole number", float: "a number"}.get(type(current),
                                                          type(current).__name__)
    return f"error: {variable}={where['value']!r} is not {kind} (it sets {key})"


def _shape(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list"}.get(type(value), repr(value))


def _merge_line(error: BaseException, frames: list[FrameType]) -> str | None:
    """A value of one source Invoke could not merge over another's (``merge_dicts``)."""
    if type(error).__name__ != "AmbiguousMergeError":
        return None
    merges = _invoke_locals(frames, "config.py", "merge_dicts")
    if not merges or "key" not in merges[-1]:
        return None
    key = ".".join(str(found["key"]) for found in merges)
    files = _invoke_locals(frames, "config.py", "_merge_file")
    source = files[-1].get("path") if files else "the configuration"
    last = merges[-1]
    value, before = last["value"], last["base"][last["key"]]
    if isinstance(before, dict):
        return (f"error: {key} is {_shape(value)} in {source}; it must be a mapping "
                "({} keeps the defaults)")
    return f"error: {key} is {_shape(value)} in {source}; it must be a single value"


def config_error_line(error: BaseException, traceback: TracebackType | None) -> str | None:
    """The one line for an error Invoke raised loading the configuration; None for others."""
    line = _yaml_error_line(error)
    if line is not None:
        return line
    frames = _frames(traceback)
    for describe in (_file_line, _variable_line, _merge_line):
        line = describe(error, frames)
        if line is not None:
            return line
    return None


def install() -> None:
    """Install the hook once (chaining to the one that was there)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException,
             traceback: TracebackType | None) -> None:
        try:
            line = config_error_line(error, traceback)
        except Exception:  # Invoke's internals changed: its own traceback is the better help
            line = None
        if line is None:
            previous(kind, error, traceback)
        else:
            sys.stderr.write(line + "\n")

    sys.excepthook = hook
