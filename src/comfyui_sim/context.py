"""What a running node sees: folders, the prompt, and thread-safe progress/text reporting back to the event loop."""

import asyncio
from typing import Optional

from . import binary


class Interrupted(Exception):
    """POST /interrupt was honoured at a node boundary or a progress step."""


class ProgressState:
    """The `nodes` map of progress_state frames: every node touched so far in this prompt (empty_image_single.json)."""

    def __init__(self, prompt_id: str) -> None:
        self.prompt_id = prompt_id
        self.nodes: dict = {}

    def entry(self, node_id: str) -> dict:
        return self.nodes.setdefault(
            node_id,
            {
                "value": 0,
                "max": 1,
                "state": "pending",
                "node_id": node_id,
                "prompt_id": self.prompt_id,
                "display_node_id": node_id,
                "parent_node_id": None,
                "real_node_id": node_id,
            },
        )

    def start(self, node_id: str) -> None:
        self.entry(node_id).update(value=0.0, max=1.0, state="running")

    def update(self, node_id: str, value, total) -> None:
        self.entry(node_id).update(value=value, max=total, state="running")

    def finish(self, node_id: str) -> None:
        # cached_rerun.json: a cached output node is finished without starting, so value/max stay ints 1/1
        entry = self.entry(node_id)
        entry.update(state="finished", value=entry["max"])

    def frame(self) -> dict:
        return {"prompt_id": self.prompt_id, "nodes": {k: dict(v) for k, v in self.nodes.items()}}


class NodeContext:
    """Handed to node functions, which run in a worker thread."""

    def __init__(self, run, node_id: str) -> None:
        self.run = run
        self.node_id = node_id
        self.dirs = run.dirs
        self.prompt = run.prompt
        self.extra_pnginfo = run.extra.get("extra_pnginfo")

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.run.loop).result(timeout=10)

    def check_interrupt(self) -> None:
        """Like comfy.model_management.throw_exception_if_processing_interrupted (also when the server died)."""
        if self.run.state.dead or self.run.state.interrupt:
            raise Interrupted()

    def progress(self, value: int, total: int, png: Optional[bytes] = None, jpeg: bool = False) -> None:
        """A progress step, with a preview image (PNG, or JPEG as a sampler's latent previews are)."""
        self.check_interrupt()
        self._call(self.run.on_progress(self.node_id, value, total, png, jpeg))

    def text(self, message: str) -> None:
        self._call(self.run.state.hub.send_bytes(binary.text(self.node_id, message), None))
