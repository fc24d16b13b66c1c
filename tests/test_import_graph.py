"""The shape of kefu's imports: no module imports back into a module that imports it (an import inside a
function counts: it only hides the circle; one under `if TYPE_CHECKING:` never runs and does not), and the
metrics package stays backend-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import kefu

SRC = Path(kefu.__file__).parent
#: Imports that still close a circle, each with why; the graph without them must have none.
BACKENDS = ("duckdb", "pyspark")


def module_name(path: Path) -> str:
    parts = ("kefu", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """The imports under `if TYPE_CHECKING:`: read by the type checker only, never run."""
    blocks = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
    ]
    return {inner for block in blocks for stmt in block.body for inner in ast.walk(stmt)}


def imported(module: str, tree: ast.AST) -> set[str]:
    """Every module `module` imports anywhere in its text (in a function too), but for the type checker."""
    package = module if MODULES.get(module, Path()).name == "__init__.py" else module.rpartition(".")[0]
    skipped = type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    return found


def kefu_module(name: str) -> str | None:
    """The kefu module an import names (an attribute of a module resolves to the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH = {
    module: {m for name in imported(module, ast.parse(path.read_text(encoding="utf-8"))) if (m := kefu_module(name))}
    - {module}
    for module, path in MODULES.items()
}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each group of modules that import each other (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_no_module_of_kefu_imports_back_into_an_importer():
    assert cycles(GRAPH) == []


def test_the_search_finds_a_circle_through_a_function_level_import_but_not_a_type_only_one():
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kefu.qc.examples import save_rules\n"
    tree = ast.parse(text + "def later():\n    from kefu.qc.engine import inspect\n")
    assert imported("kefu.qc.rules", tree) == {"typing", "kefu.qc.engine"}
    graph = {"kefu.qc.rules": {"kefu.qc.engine"}, "kefu.qc.engine": {"kefu.qc.rules"}}
    assert cycles(graph) == [["kefu.qc.engine", "kefu.qc.rules", "kefu.qc.engine"]]


def test_the_qc_package_imports_one_way():
    """rules ← engine ← examples: the declarations know nothing of the engine that runs them."""
    assert "kefu.qc.engine" not in GRAPH["kefu.qc.rules"]
    assert "kefu.qc.examples" not in GRAPH["kefu.qc.engine"]
    assert {"kefu.qc.engine", "kefu.qc.rules"} <= GRAPH["kefu.qc.examples"]


def test_no_module_of_the_metrics_package_imports_a_backend():
    metrics = {m: p for m, p in MODULES.items() if m == "kefu.metrics" or m.startswith("kefu.metrics.")}
    found = {
        m: sorted(n for n in imported(m, ast.parse(p.read_text(encoding="utf-8"))) if n.split(".")[0] in BACKENDS)
        for m, p in metrics.items()
    }
    assert {m: names for m, names in found.items() if names} == {}


def test_importing_the_metrics_package_loads_no_backend():
    """Nor does anything it imports (checked in a fresh interpreter: this one has DuckDB loaded)."""
    code = (
        "import importlib, pkgutil, sys, kefu.metrics as m\n"
        "for info in pkgutil.iter_modules(m.__path__): importlib.import_module('kefu.metrics.' + info.name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {BACKENDS!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
