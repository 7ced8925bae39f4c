"""The shape of the code base: no import cycle among the modules of monitor/ and sources/.

Every ``import`` counts, wherever it is written (module level, inside a function, or under
``if TYPE_CHECKING:``): a lazy import only hides a cycle from the interpreter, not from a reader
or a type checker.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monitor", "sources")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that ``name`` imports (a ``from x import y`` counts x.y when y is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names)
    result = set()
    for module in named:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            result.add(module)
    return result


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_monitor_and_sources() -> None:
    known = _modules()
    assert "monitor.cli" in known and "sources" in known and "monitor.alerts.outbox" in known
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert "sources" in graph["monitor.config"]          # the walk does see imports
    cycles = _cycles(graph)
    details = ["; ".join(f"{a} -> {sorted(graph[a] & set(c))}" for a in c) for c in cycles]
    assert not cycles, "import cycles: " + " | ".join(details)


def test_alerts_and_the_rules_know_records_not_the_store() -> None:
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    rules = ("monitor.health", "monitor.reposts", "monitor.routing", "monitor.sendclaims", "monitor.records")
    readers = [name for name in graph if name.startswith("monitor.alerts") or name in rules]
    assert "monitor.alerts.outbox" in readers and "monitor.records" in graph["monitor.alerts.outbox"]
    leaks = {name: sorted(m for m in graph[name] if m == "monitor.store" or m.startswith("monitor.store."))
             for name in readers}
    assert not any(leaks.values()), leaks


# A file past this many lines holds two responsibilities: it is split in two modules.
MAX_LINES = 400


def test_no_module_is_longer_than_the_limit() -> None:
    long = {}
    for path in _modules().values():
        lines = path.read_bytes().count(b"\n")
        shown = path.relative_to(ROOT).as_posix()
        if lines > MAX_LINES:
            long[shown] = lines
    assert not long, f"modules over {MAX_LINES} lines (split them by responsibility): {long}"
