"""The package's import graph, read from the source with `ast`: no circles, the learner's path imports nothing
back up, and reaches the speed layer through its one door (`dt_tutorial.speed`) alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dt_tutorial

PACKAGE = Path(dt_tutorial.__file__).parent
# The modules a learner meets in order, each importing only what comes before it.
LEARNER_PATH = ("data", "collator", "model", "train", "rollout", "video")
DOOR = "speed"


def module_name(path: Path) -> str:
    """dt_tutorial/sources/hub.py -> 'sources.hub'; a package's __init__.py -> the package's name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def direct_imports(name: str) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (functions' lazy imports too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: relative import"
            targets = [f"{node.module}.{alias.name}" for alias in node.names] if node.module else []
            # `from dt_tutorial.speed import threads` imports the submodule; `from dt_tutorial.speed import policy` the package
            found |= {t if t.removeprefix("dt_tutorial.") in MODULES else node.module for t in targets}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m.removeprefix("dt_tutorial.") for m in found if m.startswith("dt_tutorial.")}


GRAPH = {name: direct_imports(name) for name in MODULES if name}  # the package's own __init__ left out


def reachable(name: str) -> set[str]:
    """Every module `name` imports, directly or through others."""
    seen, todo = set(), [name]
    while todo:
        for imported in GRAPH[todo.pop()] - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def test_the_graph_is_read_from_every_module():
    assert {"data", "model", "speed", "speed.last_action", "sources", "sources.hub", "defaults"} <= set(GRAPH)
    assert "speed" in GRAPH["rollout"] and "sources" in GRAPH["model"]  # a package counts as its own node


def test_no_import_circles():
    circles = [name for name in GRAPH if name in reachable(name)]
    assert not circles, f"modules that import themselves through others: {circles}"


@pytest.mark.parametrize("position, name", list(enumerate(LEARNER_PATH)))
def test_the_learners_path_imports_nothing_back_up(position, name):
    later = set(LEARNER_PATH[position + 1 :])
    assert not reachable(name) & later


def test_the_learners_path_reaches_the_speed_layer_through_its_door_alone():
    for name in GRAPH:
        if name != DOOR and not name.startswith(f"{DOOR}."):
            inside = {m for m in GRAPH[name] if m.startswith(f"{DOOR}.")}
            assert not inside, f"{name} imports {inside}: only `dt_tutorial.speed` (the door) is for outside the speed layer"
    for name in ("data", "collator", "model"):  # the blog's model knows nothing of the speed layer
        assert DOOR not in reachable(name)


def test_the_speed_layer_imports_nothing_downstream_of_the_model():
    downstream = set(LEARNER_PATH[LEARNER_PATH.index("model") + 1 :]) | {"widgets", "plots", "cli", "bc", "notebook"}
    for name in GRAPH:
        if name == DOOR or name.startswith(f"{DOOR}."):
            assert not reachable(name) & downstream, name


def test_data_imports_no_generator_and_the_defaults_import_nothing():
    generators = {"sources", "sources.collect", "sources.policies"}  # the dispatcher, the bundled data, the agents
    assert not reachable("data") & generators
    tree = ast.parse(MODULES["defaults"].read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]  # the CLI's --help reads it
