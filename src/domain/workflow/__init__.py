"""Workflows in ComfyUI's editor format, and their conversion to the API format the worker queues."""
