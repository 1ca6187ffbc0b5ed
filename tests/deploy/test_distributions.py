"""The worker's wheel (and so its image) holds the worker alone: the simulator and the caller client ship as
distributions of their own, and nothing in the worker imports them."""
import ast
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

pytestmark = pytest.mark.deploy
ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = ("domain", "adapters", "entrypoints")


def _wheel(source: pathlib.Path, out: pathlib.Path) -> set:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(out), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("*.whl")
    return {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist() if not name.split("/")[0].endswith(
        ".dist-info")}


def _copy(source: pathlib.Path, to: pathlib.Path) -> pathlib.Path:
    """A copy of a distribution's folder: the build's leftovers stay out of the tree."""
    shutil.copytree(source, to, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".venv", ".git",
                                                              "tests", "bench", "docs", "out"))
    return to


def test_the_worker_wheel_holds_domain_adapters_and_entrypoints_only(tmp_path):
    assert _wheel(_copy(ROOT, tmp_path / "worker"), tmp_path / "worker-wheel") == set(WORKER)


def test_the_simulator_is_a_wheel_of_its_own(tmp_path):
    assert _wheel(_copy(ROOT / "src" / "comfyui_sim", tmp_path / "sim"), tmp_path / "sim-wheel") == {"comfyui_sim"}


def test_no_worker_module_imports_the_simulator_the_client_or_the_sample_job():
    for package in WORKER:
        for path in (ROOT / "src" / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
            names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
            roots = {name.split(".")[0] for name in names}
            assert not roots & {"comfyui_sim", "comfy_runpod_client", "sample_job"}, path
