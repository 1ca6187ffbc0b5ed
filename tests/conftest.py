"""Shared pytest set-up: each test marked with its folder's name (`-m unit`), the ComfyUI simulator fixture
`comfy_sim`, or a real ComfyUI when COMFY_TEST_URL is set; a session fails when a process the tests started outlives
it (leftover_processes). Property tests draw the same examples on every run (HYPOTHESIS_PROFILE=explore draws new
ones)."""
import os
import pathlib

import pytest
from hypothesis import settings

from adapters.process_liveness import ProcessLiveness
from contract import COMFY_TEST_URL, COMFYUI_VERSIONS, real_comfy

TESTS = pathlib.Path(__file__).resolve().parent
FOLDER_MARKERS = ("unit", "integration", "e2e", "deploy", "faults", "bench")  # pyproject declares them

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = ["leftover_processes", "runpod_standin.pytest_plugin"]

if COMFY_TEST_URL:
    @pytest.fixture
    def comfy_sim():
        yield real_comfy()
else:
    pytest_plugins.append("comfyui_sim.pytest_plugin")


@pytest.fixture(params=COMFYUI_VERSIONS)
def comfy_version(request):
    """The simulator as each ComfyUI version it models (docs/compatibility.md); in a contract run, the real ComfyUI
    for the version it reports, the others skipped."""
    if COMFY_TEST_URL:
        comfy = real_comfy()
        try:
            modelled_as = comfy.profile.version
        except ValueError:
            modelled_as = None
        if modelled_as != request.param:
            pytest.skip(f"the ComfyUI at {comfy.base_url} is {comfy.version}, not {request.param}")
        yield comfy
        return
    from comfyui_sim.simulator import ComfySimulator

    sim = ComfySimulator(version=request.param).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.resolve().relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)
        if COMFY_TEST_URL and item.path.name.startswith("test_simulator_"):
            item.add_marker(pytest.mark.skip(reason="tests the simulator itself (contract run)"))


@pytest.fixture(autouse=True)
def _no_machine_pid_file(request, monkeypatch, tmp_path_factory):
    """Workers built in the tests never read the machine's /tmp/comfyui.pid: one left by any earlier run would
    name a dead process and turn every connection failure into comfy_process_died."""
    if request.module.__name__.endswith("test_process_liveness"):
        return
    absent = str(tmp_path_factory.getbasetemp() / "no-comfyui.pid")
    monkeypatch.setitem(ProcessLiveness.__init__.__kwdefaults__, "default_pid_file", absent)
