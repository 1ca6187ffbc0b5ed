"""Contract mode: with COMFY_TEST_URL set, tests that take `comfy_sim` run against that real ComfyUI instead.

Anything that needs the simulator's insides (fault knobs, its state, restarts) skips the test in that mode,
so CI (no COMFY_TEST_URL) keeps using the simulator and a contract run needs no change to the tests.
"""
from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
import requests

COMFY_TEST_URL = os.environ.get("COMFY_TEST_URL", "").strip()
# the ComfyUI versions the simulator models (comfyui_sim.versions.PROFILES), the `comfy_version` fixture's params
COMFYUI_VERSIONS = ("0.3.64", "0.8.0", "0.17.2", "0.35.1")

_SIMULATOR_ONLY = ("faults", "state", "restart", "blackout", "stop", "models", "dirs", "client_ids",
                   "queue_foreign", "received_ws_messages", "received_interrupts", "received_cancels",
                   "enable_assets", "wait_idle", "output_files", "_call")


class RealComfy:
    """Looks like the `comfy_sim` fixture for what a real server can do; the rest skips the test."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.host = parts.netloc
        self.base_url = f"http://{self.host}"
        self.version = ""

    @property
    def profile(self):
        """The simulator's profile of the version this ComfyUI reports (what the tests expect of it)."""
        from comfyui_sim.versions import profile

        return profile(".".join(self.version.split(".")[:2]))

    def history(self, prompt_id: str) -> dict:
        return requests.get(f"{self.base_url}/history/{prompt_id}", timeout=10).json().get(prompt_id, {})

    def wait_idle(self, timeout: float = 60.0) -> None:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            queue = requests.get(f"{self.base_url}/queue", timeout=10).json()
            if not queue["queue_running"] and not queue["queue_pending"]:
                return
            time.sleep(0.05)

    def __getattr__(self, name: str):
        if name in _SIMULATOR_ONLY:
            pytest.skip(f"needs the simulator's {name!r} (contract run against {self.base_url})")
        raise AttributeError(name)


def real_comfy() -> RealComfy:
    comfy = RealComfy(COMFY_TEST_URL)
    try:
        stats = requests.get(comfy.base_url + "/system_stats", timeout=5)
        stats.raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"COMFY_TEST_URL={COMFY_TEST_URL} does not answer: {exc}")
    comfy.version = str(stats.json()["system"]["comfyui_version"])
    comfy.wait_idle()
    return comfy
