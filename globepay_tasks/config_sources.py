"""The sources Invoke read the configuration from, checked before a task uses it: the ``-f``
file exists and is YAML or JSON, no YAML file gives a key twice, and every
``INVOKE_GLOBEPAY_*`` variable set something. (What Invoke cannot load at all is one line
from `globepay_tasks.excepthook`.)"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import ConfigError

#: Invoke's configuration files, in the order it merges them.
FILES = ("system", "user", "project", "runtime")


def check(config: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """A `ConfigError` for a ``-f`` file that does not exist or is not YAML/JSON, or a YAML
    file of ``config`` (an Invoke ``Config``) that gives a key twice; a warning line for each
    ``INVOKE_GLOBEPAY_*`` variable of ``environ`` that set nothing."""
    runtime = getattr(config, "_runtime_path", None)
    if runtime is not None:
        path = os.path.expanduser(str(runtime))
        if not os.path.exists(path):
            raise ConfigError(f"configuration file {runtime} (-f) does not exist")
        if not path.endswith((".yaml", ".yml", ".json")):
            raise ConfigError(f"configuration file {runtime} is not YAML or JSON (-f takes a "
                              ".yaml, .yml or .json file)")
    for name in FILES:
        path = getattr(config, f"_{name}_path", None)
        if path and getattr(config, f"_{name}_found", None) and path.endswith((".yaml", ".yml")):
            check_unique_keys(os.path.expanduser(path))
    return unused_variables(config, os.environ if environ is None else environ)


def check_unique_keys(path: str) -> None:
    """A `ConfigError` naming the first key the YAML file ``path`` gives twice in one mapping
    (YAML loaders keep the last silently), with both lines."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        root = yaml.compose(handle, Loader=yaml.SafeLoader)
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node.value))
        if not isinstance(node, yaml.MappingNode):
            continue
        lines: dict[str, int] = {}
        for key, value in node.value:
            text = key.value if isinstance(key, yaml.ScalarNode) else "?"
            name = f"{where}.{text}" if where else text
            line = key.start_mark.line + 1
            if text in lines:
                raise ConfigError(f"{path} line {line}: {name} is given twice (first on line "
                                  f"{lines[text]}); give each key once")
            if isinstance(key, yaml.ScalarNode):
                lines[text] = line
            stack.append((value, name))


def _leaves(tree: Mapping, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*path, str(key)))
        else:
            yield (*path, str(key))


def unused_variables(config: Any, environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``INVOKE_GLOBEPAY_*`` variable Invoke did not load: it names no key
    of the defaults or the configuration files (a variable only changes an existing key)."""
    prefix = getattr(config, "_env_prefix", None) or "INVOKE_"
    loaded = {prefix + "_".join(path).upper()
              for path in _leaves(getattr(config, "_env", None) or {})}
    return [f"warning: {name} sets nothing: no default or configuration file has the key it "
            "names (a variable only changes a key that exists)"
            for name in sorted(environ)
            if name.startswith(f"{prefix}GLOBEPAY_") and name not in loaded]
