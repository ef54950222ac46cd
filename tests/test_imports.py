"""The package's import graph: one way, no cycle, and nothing from outside the package."""

from __future__ import annotations

import ast
import graphlib

from helpers import REPO

PACKAGE = REPO / "zoo"
# Lower layers never import higher ones: cli -> recipes -> training/serving/evaluation ->
# export -> tasks -> registry/cards/data/results -> small shared modules.
LAYERS = [
    ("zoo.checks", "zoo.atomic", "zoo.layout", "zoo.startup", "zoo.textrules"),
    ("zoo.registry", "zoo.cards", "zoo.data", "zoo.results"),
    ("zoo.tasks",),
    ("zoo.export",),
    ("zoo.training", "zoo.serving", "zoo.evaluation", "zoo.edge"),
    ("zoo.recipes",),
    ("zoo.cli",),
]


def module_name(path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each zoo module's imports of other zoo modules, at any depth of its code."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:  # `from zoo.x import y`: the module y, or zoo.x
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
        graph[name] = found
    return graph


def layer(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} belongs to no layer; add it to LAYERS")


def test_the_library_imports_no_top_level_package_of_the_repository():
    outside = {"recipes", "benchmarks", "tests", "helpers", "mock_datasets"}
    wrong = {(m, i) for m, found in imports().items() for i in found if i.split(".")[0] in outside}
    assert not wrong


def test_the_import_graph_has_no_cycle():
    graph = {
        m: {i for i in found if i.split(".")[0] == "zoo"} - {m} for m, found in imports().items()
    }
    graphlib.TopologicalSorter(graph).prepare()  # CycleError names the cycle


def test_imports_go_one_way_down_the_layers():
    upward = sorted(
        (m, i)
        for m, found in imports().items()
        if m != "zoo"
        for i in found
        if i.startswith("zoo.") and layer(i) > layer(m)
    )
    assert not upward, upward
