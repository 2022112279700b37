"""The package's import graph has no cycle, counting imports inside functions too (a lazy import
hides a cycle from Python, not from the design)."""

from __future__ import annotations

import ast

from assistant.config import ROOT

PACKAGE = ROOT / "assistant"


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.AST, package: str, modules: set[str]) -> set[str]:
    """Modules of the package one import statement depends on."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = set()
    for a in node.names:
        sub = f"{target}.{a.name}"
        out.add(sub if sub in modules else target)  # "from . import x" depends on x, not the package
    return out & modules


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            deps |= _targets(node, package, set(paths))
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by depth-first search, as the path that closes it."""
    found, state = [], {}

    def visit(v: str, stack: list[str]) -> None:
        state[v] = "open"
        for w in sorted(graph[v]):
            if state.get(w) == "open":
                found.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w, stack + [w])
        state[v] = "done"

    for v in sorted(graph):
        if v not in state:
            visit(v, [v])
    return found


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_check_sees_a_cycle_and_lazy_imports():
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
    graph = import_graph()
    assert "assistant.devtools.evaluation" in graph["assistant.devtools.report"]
    assert "assistant.devtools.eval_cli" in graph["assistant.cli"]  # imported inside cmd_eval
