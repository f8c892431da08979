"""The layers of docs ARCHITECTURE "Layers": a module imports only its own layer or those below, no cycles.

Every module under worldplan/, envs/ and planners/ is parsed with ``ast``; imports count at any depth
(inside functions and ``TYPE_CHECKING`` blocks too), since a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# source folder -> the package it is installed as (pyproject.toml package-dir)
PACKAGES = {"worldplan": "worldplan", "envs": "worldplan.envs", "planners": "worldplan.planners"}
# module prefix -> layer, higher imports lower; the longest matching prefix wins
LAYERS = {
    "worldplan.cli": 6, "worldplan.cli_help": 6, "worldplan.commands": 6,
    "worldplan.benchmark": 5,
    "worldplan.evaluate": 4,
    "worldplan.train": 3,
    "worldplan.models": 2, "worldplan.data": 2, "worldplan.byo": 2,
    "worldplan": 1,  # costs.py, config.py, atomic.py and the package itself (its version)
    "worldplan.planners": 0, "worldplan.envs": 0,
}
PLANNER_DEPENDENCIES = {"torch", "__future__"}


def module_name(path: Path) -> str:
    """``worldplan.data.episodes`` for ROOT/worldplan/data/episodes.py, ``worldplan.envs`` for envs/__init__.py."""
    source, *parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGES[source], *parts])


def all_modules() -> dict[str, Path]:
    """Every module of the distribution: its name -> its file."""
    return {module_name(path): path for source in PACKAGES for path in sorted((ROOT / source).rglob("*.py"))}


MODULES = all_modules()


def imported(name: str, path: Path) -> Iterator[str]:
    """The absolute names module ``name`` (file ``path``) imports, at any depth; ``from pkg import sub``
    yields ``pkg.sub`` when ``sub`` is a module, else ``pkg``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def layer(module: str) -> int | None:
    """The layer of a worldplan module; None for third-party and stdlib modules."""
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def graph() -> dict[str, set[str]]:
    """worldplan module -> the worldplan modules it imports."""
    return {name: {target for target in imported(name, path) if target in MODULES}
            for name, path in MODULES.items()}


def test_every_source_module_has_a_layer():
    assert MODULES and all(layer(name) is not None for name in MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(name):
    upward = sorted(target for target in imported(name, MODULES[name])
                    if layer(target) is not None and layer(target) > layer(name))
    assert not upward, f"{name} (layer {layer(name)}) imports higher layers: {upward}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == 0))
def test_planners_and_envs_stand_alone(name):
    own = ".".join(name.split(".")[:2])  # worldplan.planners or worldplan.envs
    targets = set(imported(name, MODULES[name]))
    foreign = sorted(t for t in targets if t.startswith("worldplan") and not (t == own or t.startswith(own + ".")))
    assert not foreign, f"{name} imports other worldplan modules: {foreign}"
    if own == "worldplan.planners":
        roots = {t.split(".")[0] for t in targets if not t.startswith("worldplan")}
        extra = sorted(roots - PLANNER_DEPENDENCIES - set(sys.stdlib_module_names))
        assert not extra, f"{name} imports {extra}; planners depend on torch and the standard library alone"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_between_modules():
    # A package's __init__ that re-exports its submodules is not a cycle with them: Python imports the
    # package first. Edges from a submodule to its own package's __init__ are such re-exports.
    edges = graph()
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}
    cycle = find_cycle(edges)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"
