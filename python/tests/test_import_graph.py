"""The modules of python/petct import each other without a cycle: the graph is built from the source
(ast, imports inside functions included, so a lazy import cannot hide a cycle) and checked acyclic."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "python" / "petct"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The petct modules ``name`` imports anywhere in its source (parent packages left out: a module
    runs its package's ``__init__`` first, so that edge would make every re-export a cycle)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x`: module x
    parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in found if m in known and m != name and m not in parents}


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None when it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_check_finds_cycles():
    # The checker itself: a cycle through a lazy import is found, an acyclic graph passes.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    graph = _graph()
    # imports are resolved: relative (`from .x import y`, `from . import x`) and inside functions
    assert "petct.dataset" in graph["petct.writer"]
    assert "petct.dataset" in graph["petct.cli"]  # cli imports dcmread inside a function
    assert "petct.flatten" in graph["petct.dataset"] and "petct.jsonrep" in graph["petct.dataset"]


def test_petct_modules_import_each_other_without_a_cycle():
    graph = _graph()
    assert len(graph) > 10
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_flattening_charset_and_json_sit_below_dataset():
    # As pydicom keeps charset / valuerep / filewriter below dataset: nothing these modules import,
    # directly or through others, is petct.dataset (or the writer above it).
    graph = _graph()
    for low in ("petct.flatten", "petct.charset", "petct.jsonrep", "petct.tag", "petct.dataelem", "petct.valuerep"):
        seen, todo = set(), [low]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert not seen & {"petct.dataset", "petct.writer"}, (low, sorted(seen))
