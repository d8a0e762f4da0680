"""The package's shape: no import cycles, and no oversized modules outside the sandbox.

Imports are read with `ast`, so every ``import`` counts wherever it is (module level or
inside a function); only those under ``if TYPE_CHECKING:`` do not, as they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "globepay_tasks"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE
MAX_LINES = 400


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements in ``node`` that can run (not under ``if TYPE_CHECKING:``)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _runtime_imports(child)


def _base_of(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module ``from <base> import ...`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``module`` imports at run time.

    ``from pkg import name`` is ``pkg.name`` when that is a module, ``pkg`` otherwise.
    A submodule is not counted as importing its package's ``__init__``.
    """
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = _base_of(module, path, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            found.add(submodule if submodule in known else base)
    return found & known


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {module: imported_modules(module, path, known) for module, path in files.items()}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _shortest_cycle(graph: dict[str, set[str]], start: str, within: set[str]) -> list[str]:
    """The shortest cycle from ``start`` back to it, staying inside ``within``."""
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for successor in sorted(graph[node] & within):
            if successor == start:
                return paths[node] + [start]
            if successor not in paths:
                paths[successor] = paths[node] + [successor]
                queue.append(successor)
    return []


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each module that is on a cycle, without repeats."""
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for component in _strongly_connected(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        for module in component:
            cycle = _shortest_cycle(graph, module, set(component))
            first = cycle.index(min(cycle[:-1]))
            key = tuple(cycle[first:-1] + cycle[:first])
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


def test_the_package_has_no_import_cycles():
    cycles = import_cycles(import_graph())
    chains = "\n".join(" -> ".join(cycle) for cycle in cycles)
    assert not cycles, f"import cycles (TYPE_CHECKING imports excluded):\n{chains}"


def test_cycles_are_found_through_function_level_imports_but_not_type_checking():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c", "a"], ["d", "d"]]
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import b\n"
              "else:\n    from . import c\ndef f():\n    from .d import x\n")
    tree = ast.parse(source)
    assert [ast.unparse(node) for node in _runtime_imports(tree)] == [
        "from typing import TYPE_CHECKING", "from . import c", "from .d import x"]


def test_modules_outside_the_sandbox_stay_small():
    sandbox = PACKAGE_DIR / "sandbox"
    sizes = {path.relative_to(PACKAGE_DIR.parent).as_posix(): len(path.read_text().splitlines())
             for path in module_files().values() if sandbox not in path.parents}
    over = {name: lines for name, lines in sorted(sizes.items()) if lines > MAX_LINES}
    listing = "\n".join(f"{name}: {lines} lines" for name, lines in over.items())
    assert not over, f"modules over {MAX_LINES} lines:\n{listing}"
