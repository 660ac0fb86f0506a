"""The layout's rules (docs/architecture.md), read from the source with ast: what may import what, no import
circles, no module state that one module changes for another, and the size limits."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("pipeline", "models")
MAX_MODULE_LINES = 320   # "no module over ~300 lines"
MAX_FUNCTION_LINES = 50
MUTATORS = {"append", "extend", "add", "update", "setdefault", "pop", "popitem", "clear", "remove", "insert",
            "discard"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}
# The stage commands and the CLI: the modules directly in pipeline/ (not its subpackages).
STAGES = {name for name, path in MODULES.items() if path.parent == REPO / "pipeline" and path.name != "__init__.py"}


def imports(name: str) -> set[str]:
    """The project modules that `name` imports, anywhere in it (lazy imports too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def test_the_rules_see_the_layout():
    assert {"pipeline.train", "pipeline.cli", "pipeline.evaluate"} <= STAGES
    assert "pipeline.training.trainer" in MODULES and "pipeline.cli" in GRAPH["pipeline.train"]


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("pipeline.") and n.count(".") >= 2])
def test_a_library_module_imports_no_stage_and_not_the_cli(name):
    assert not GRAPH[name] & STAGES, f"{name} imports {sorted(GRAPH[name] & STAGES)}"


def test_models_import_nothing_from_pipeline():
    offenders = {n: sorted(m for m in GRAPH[n] if m.startswith("pipeline")) for n in MODULES if n.startswith("models")}
    assert not {n: m for n, m in offenders.items() if m}


def test_no_import_circles():
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        path.append(name)
        for target in sorted(GRAPH[name]):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(MODULES):
        visit(name)


def _module_containers(tree: ast.Module) -> set[str]:
    """Public names that a module binds to a dict, list or set at its top level (a private cache, such as
    the shard reader's open LMDB environments, is the module's own business)."""
    names = set()
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
            names |= {t.id for t in targets if isinstance(t, ast.Name) and not t.id.startswith("_")}
    return names


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_state_is_changed_at_run_time(name):
    """Module-level containers are constants or registries filled by register*() as modules load; no
    function changes them later (as pipeline.experiment's command tags once were), and there is no `global`."""
    tree = ast.parse(MODULES[name].read_text())
    containers = _module_containers(tree)
    changed = []
    for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        if function.name.startswith("register"):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                changed.append(f"{function.name}: global {', '.join(node.names)}")
            target = None
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                        target = t.value.id
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS \
                    and isinstance(node.func.value, ast.Name):
                target = node.func.value.id
            if target in containers:
                changed.append(f"{function.name} changes {target}")
    assert not changed, f"{name}: {changed}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_stay_small(name):
    text = MODULES[name].read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name}: {len(text.splitlines())} lines"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{name}: {long}"
