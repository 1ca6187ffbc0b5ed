"""pytest plugin: the `comfy_sim` fixture, a started ComfySimulator per test."""

import pytest

from .simulator import ComfySimulator


@pytest.fixture
def comfy_sim():
    sim = ComfySimulator(port=0).start()
    try:
        yield sim
    finally:
        sim.stop()
