"""The package's shape: no import cycle among its modules, the frame helpers and the input error in
leaf modules, one BadInput wherever a module names it, no module reaching into another's private
names, and no function longer than 60 lines. Read from the source (every import, at a module's top
level or inside a function), so that an import added anywhere is checked."""
from __future__ import annotations

import ast

import pytest

from conftest import ROOT

PACKAGE = ROOT / "python" / "rackqual"
SOURCES = {("rackqual" if p.stem == "__init__" else f"rackqual.{p.stem}"): p for p in sorted(PACKAGE.glob("*.py"))}
# The compiled module: a module of the package, but no Python source that could import back.
COMPILED = {"rackqual._core"}
LEAVES = ("rackqual.frames", "rackqual.errors", "rackqual.dependencies")
MAX_LINES = 60


def _resolve(name: str) -> str | None:
    """The package's module `name` stands for (itself, or the module holding it), or None."""
    while name and name not in SOURCES and name not in COMPILED:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.AST) -> list[str]:
    """The package's modules one statement (or __import__ / import_module of a constant) imports."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = ".".join(filter(None, ["rackqual" if node.level else "", node.module or ""]))
        # `from rackqual import x` imports the module rackqual.x where there is one, else the package.
        names = [f"{base}.{a.name}" if _resolve(f"{base}.{a.name}") == f"{base}.{a.name}" else base for a in node.names]
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and \
            isinstance(node.args[0].value, str) and \
            (getattr(node.func, "id", None) == "__import__" or getattr(node.func, "attr", None) == "import_module"):
        names = [node.args[0].value]
    return [m for m in map(_resolve, (n for n in names if n.split(".")[0] == "rackqual")) if m and m in SOURCES]


def imports() -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports."""
    graph = {}
    for name, path in SOURCES.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = {m for node in ast.walk(tree) for m in _imported(node)} - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` as the path round it, or [] where there is none."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_among_the_packages_modules():
    graph = imports()
    assert {"rackqual.summary", "rackqual.attribution", "rackqual.report", "rackqual.frames"} <= set(graph)
    assert "rackqual.frames" in graph["rackqual.attribution"] and "rackqual.attribution" in graph["rackqual.summary"]
    cycle = find_cycle(graph)
    assert cycle == [], " -> ".join(cycle)


@pytest.mark.parametrize("leaf", LEAVES)
def test_the_leaf_modules_import_nothing_from_the_package(leaf):
    assert imports()[leaf] == set()


def test_the_frame_helpers_come_from_the_one_leaf_module():
    graph = imports()
    for module in ("summary", "attribution", "report", "sweep"):
        assert "rackqual.frames" in graph[f"rackqual.{module}"], module
    for module, path in SOURCES.items():
        tree = ast.parse(path.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if module != "rackqual.frames":
            assert not defined & {"tidy", "column", "text", "number", "bytes_text", "size_of"}, module


def test_one_bad_input_wherever_it_is_named():
    from rackqual import errors, fleet, report, sweep
    assert fleet.BadInput is report.BadInput is sweep.BadInput is errors.BadInput
    assert issubclass(errors.BadInput, ValueError)
    defined = [module for module, path in SOURCES.items() for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ClassDef) and node.name == "BadInput"]
    assert defined == ["rackqual.errors"]


def test_the_old_homes_of_the_frame_helpers_still_give_them():
    from rackqual import frames, summary
    for name in ("tidy", "column", "text", "number"):
        assert getattr(summary, name) is getattr(frames, name)


def _package_aliases(tree: ast.Module) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """The names a module binds to the package's modules (name -> module), and the private names it
    imports from them (line, name)."""
    aliases: dict[str, str] = {}
    private: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "rackqual":
                    aliases[a.asname or "rackqual"] = a.name if a.asname else "rackqual"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rackqual":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in SOURCES or full in COMPILED:
                    aliases[a.asname or a.name] = full
                elif a.name.startswith("_"):
                    private.append((node.lineno, full))
    return aliases, private


def test_no_module_uses_another_modules_private_names():
    reach_ins = []
    for module, path in SOURCES.items():
        tree = ast.parse(path.read_text())
        aliases, private = _package_aliases(tree)
        reach_ins += [f"{module}:{line}: {name}" for line, name in private]
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            first, _, rest = ast.unparse(node.value).partition(".")
            if first in aliases:
                owner = ".".join(filter(None, [aliases[first], rest]))
                if f"{owner}.{node.attr}" not in COMPILED:
                    reach_ins.append(f"{module}:{node.lineno}: {owner}.{node.attr}")
    assert reach_ins == []


def test_no_function_is_longer_than_60_lines():
    long = [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in SOURCES.values() for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert long == []
