"""Shared pytest set-up: the ComfyUI simulator fixture `comfy_sim`."""

pytest_plugins = ["comfyui_sim.pytest_plugin"]
