"""The simulator's modules import one another without a cycle (type-only imports count) and never the worker."""
import ast
import graphlib
import pathlib

SIM = pathlib.Path(__file__).resolve().parents[3] / "src" / "comfyui_sim"
PACKAGE = SIM.name
WORKER_PACKAGES = {"domain", "adapters", "entrypoints", "comfy_runpod_client"}


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(SIM.glob("*.py"))}


def imported(tree: ast.Module, known: set[str]) -> tuple[set[str], set[str]]:
    """The package's modules a module imports (anywhere in it, `if TYPE_CHECKING:` too), and the other roots."""
    inside, outside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    inside.add(parts[1] if len(parts) > 1 else "__init__")
                else:
                    outside.add(parts[0])
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".") if node.module else []
            if node.level == 0 and parts[0] != PACKAGE:
                outside.add(parts[0])
                continue
            inner = parts[1:] if node.level == 0 else parts
            if inner:
                inside.add(inner[0])
            else:  # `from . import a, b`: a and b are modules of the package
                inside |= {alias.name for alias in node.names if alias.name in known}
    return inside, outside


def import_graph() -> dict[str, set[str]]:
    trees = modules()
    return {name: imported(tree, set(trees))[0] for name, tree in trees.items()}


def test_the_import_graph_is_read_from_every_kind_of_import():
    tree = ast.parse("from typing import TYPE_CHECKING\nfrom . import files, info\nfrom .hub import SIM\n"
                     "import comfyui_sim.state\nif TYPE_CHECKING:\n    from .simulator import ComfySimulator\n")
    assert imported(tree, {"files", "info", "hub", "state", "simulator"}) == (
        {"files", "info", "hub", "state", "simulator"}, {"typing"})


def test_the_simulator_package_has_no_import_cycle():
    graph = import_graph()
    assert {"simulator", "routes", "hub"} <= set(graph)
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None
    assert set(order) >= set(graph)


def test_the_simulator_imports_nothing_of_the_worker():
    for name, tree in modules().items():
        _, outside = imported(tree, set())
        assert not (outside & WORKER_PACKAGES), f"{name} imports {sorted(outside & WORKER_PACKAGES)}"
