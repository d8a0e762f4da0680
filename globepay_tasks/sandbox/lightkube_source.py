"""Kubernetes' built-in resource table, read from the sources of the ``lightkube-models`` package.

``lightkube-models`` (pinned in the test extra; its version is the Kubernetes version it was
generated from) has one module per API group version, ``lightkube/resources/<group>_<version>.py``,
holding a class per REST resource and subresource. Each class says its scope by its base
(``res.NamespacedResource*`` / ``res.GlobalResource``, ``...SubResource`` for subresources) and
carries ``_api_info = res.ApiInfo(resource=res.ResourceDef(group, version, kind), plural=...,
verbs=[...], parent=..., action=...)``.

Why the sources are parsed (``ast``) instead of imported: the modules import ``lightkube.core``,
which lives in the ``lightkube`` client package, not in ``lightkube-models``. Adding that client
to the test extra would bring httpx and its own dependencies into the sandbox's environment,
and importing the resource modules would also import every generated model dataclass (tens of
milliseconds more at each start). The generated sources are regular and only literals are
read, so parsing them costs a few milliseconds, needs nothing beyond the standard library, and
any change of shape makes :func:`read_api_defs` fail loudly (and the registry's tests with it).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

DISTRIBUTION = "lightkube-models"
#: Stable group versions only: ``apps_v1``, ``flowcontrol_apiserver_v1`` (no alpha, no beta).
_STABLE_MODULE = re.compile(r"[a-z_]+_v\d+")
#: lightkube's client method names -> Kubernetes API verbs (``global_*`` are client-side only).
_VERBS = {"post": "create", "put": "update", "global_list": None, "global_watch": None}
_BASES = {"NamespacedResource": (True, False), "NamespacedResourceG": (True, False),
          "NamespacedSubResource": (True, True), "GlobalResource": (False, False),
          "GlobalSubResource": (False, True)}

Gvk = tuple[str, str, str]


@dataclass(frozen=True)
class ApiDef:
    """One REST resource or subresource as lightkube-models describes it.

    For a subresource, ``action`` is its name (``status``, ``scale``, ``eviction``...),
    ``parent`` the (group, version, kind) of the resource it belongs to, and
    ``group``/``version``/``kind`` the type of its body (``autoscaling/v1`` ``Scale``).
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...]
    action: str | None = None
    parent: Gvk | None = None


class SourceError(RuntimeError):
    """lightkube-models is missing or its sources no longer have the expected shape."""


def resources_dir() -> Path:
    """The ``lightkube/resources`` directory of the installed lightkube-models."""
    spec = importlib.util.find_spec("lightkube")  # a top-level package: nothing is executed
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "resources"
        if (candidate / "core_v1.py").is_file():
            return candidate
    raise SourceError(f"{DISTRIBUTION} is not installed: the sandbox reads Kubernetes' kinds "
                      "from it (pip install -e '.[test]')")


def api_verbs(client_verbs: list[str]) -> tuple[str, ...]:
    """lightkube's verbs as the API server names them, sorted as discovery lists them."""
    mapped = (_VERBS.get(v, v) for v in client_verbs)
    return tuple(sorted({v for v in mapped if v}))


def _gvk(node: ast.expr) -> Gvk:
    if not isinstance(node, ast.Call) or len(node.args) != 3:
        raise SourceError(f"not a ResourceDef(group, version, kind): {ast.dump(node)}")
    group, version, kind = (ast.literal_eval(arg) for arg in node.args)
    return group, version, kind


def _base_name(node: ast.ClassDef) -> str | None:
    for base in node.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
        if name in _BASES:
            return name
    return None


def _api_info(node: ast.ClassDef) -> ast.Call | None:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) and \
                any(getattr(t, "id", None) == "_api_info" for t in statement.targets):
            return statement.value
    return None


def _parse_class(node: ast.ClassDef) -> ApiDef | None:
    base = _base_name(node)
    call = _api_info(node)
    if base is None or call is None:
        return None
    fields = {k.arg: k.value for k in call.keywords if k.arg}
    try:
        group, version, kind = _gvk(fields["resource"])
        namespaced, is_sub = _BASES[base]
        action = ast.literal_eval(fields["action"]) if "action" in fields else None
        parent = _gvk(fields["parent"]) if "parent" in fields else None
        api_def = ApiDef(group, version, kind, ast.literal_eval(fields["plural"]), namespaced,
                         api_verbs(ast.literal_eval(fields["verbs"])), action, parent)
    except (KeyError, ValueError) as exc:
        raise SourceError(f"unexpected _api_info of {node.name}: {exc!r}") from None
    if is_sub != (action is not None and parent is not None):
        raise SourceError(f"{node.name}: subresource base without parent/action or vice versa")
    return api_def


def read_module(path: Path) -> list[ApiDef]:
    """Every resource and subresource defined in one ``lightkube/resources`` module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = [_parse_class(n) for n in tree.body if isinstance(n, ast.ClassDef)]
    return [d for d in found if d is not None]


def read_api_defs(directory: Path | None = None) -> list[ApiDef]:
    """Resources and subresources of every stable group version, module by module."""
    directory = directory or resources_dir()
    defs: list[ApiDef] = []
    for path in sorted(directory.glob("*.py")):
        if _STABLE_MODULE.fullmatch(path.stem):
            defs.extend(read_module(path))
    if not any(d.kind == "Pod" and d.action is None for d in defs):
        raise SourceError(f"no Pod among the resources read from {directory}")
    return defs
