"""A ComfyUI 0.8 simulator for tests: the real HTTP + websocket protocol, Pillow nodes, and fault knobs."""

from .simulator import ComfySimulator

__all__ = ["ComfySimulator"]
