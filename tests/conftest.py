"""Shared pytest set-up: the ComfyUI simulator fixture `comfy_sim`, or a real ComfyUI when COMFY_TEST_URL is set;
a session fails when a process the tests started outlives it (leftover_processes)."""
import pytest

from contract import COMFY_TEST_URL, real_comfy

pytest_plugins = ["leftover_processes"]

if COMFY_TEST_URL:
    @pytest.fixture
    def comfy_sim():
        yield real_comfy()

    def pytest_collection_modifyitems(config, items):
        for item in items:
            if item.path.name.startswith("test_simulator_"):
                item.add_marker(pytest.mark.skip(reason="tests the simulator itself (contract run)"))
else:
    pytest_plugins.append("comfyui_sim.pytest_plugin")
