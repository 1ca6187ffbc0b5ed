"""Running one node inside a prompt: cache hits, progress_state/executing/executed frames, failures, progress."""

import asyncio
import functools
import traceback
from typing import TYPE_CHECKING, Optional

from . import binary
from .context import Interrupted, NodeContext, ProgressState
from .faults import Faults
from .graph import is_link
from .hub import Hub
from .paths import Dirs
from .registry import NODES, NodeError
from .state import SimState

if TYPE_CHECKING:
    from .simulator import ComfySimulator


def type_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def shown(value):
    return value if value is None or isinstance(value, (int, float, bool, str)) else str(value)


class NodeSteps:
    """Mixed into PromptRun, which provides prompt, state, hub, faults, keys, progress, ui, executed."""

    sim: "ComfySimulator"
    state: SimState
    hub: Hub
    faults: Faults
    dirs: Dirs
    loop: asyncio.AbstractEventLoop
    prompt_id: str
    prompt: dict
    cid: Optional[str]
    keys: dict
    progress: ProgressState
    ui: dict
    executed: list[str]

    async def send_progress_state(self) -> None:
        await self.hub.send("progress_state", self.progress.frame(), self.cid)

    async def execute(self, node_id: str):
        state, pid, cid = self.state, self.prompt_id, self.cid
        class_type = self.prompt[node_id]["class_type"]
        ndef, key = NODES[class_type], self.keys[node_id]
        if key in state.cache:
            _, ui = state.cache[key]
            if cid is not None:
                # cached_rerun.json: a cached output node re-sends `executed` with the old files, no `executing`
                await self.hub.send(
                    "executed",
                    {
                        "node": node_id,
                        "display_node": node_id,
                        "output": ui["output"] if ui else None,
                        "prompt_id": pid,
                    },
                    cid,
                )
                if ui:
                    self.ui[node_id] = ui
            self.progress.finish(node_id)
            await self.send_progress_state()
            return None
        self.progress.start(node_id)
        await self.send_progress_state()
        given = self.prompt[node_id].get("inputs", {})
        inputs = {
            name: state.cache[self.keys[given[name][0]]][0][given[name][1]] if is_link(given[name]) else given[name]
            for name in ndef.inputs(self.dirs)
            if name in given
        }
        if cid is not None:
            state.last_node_id = node_id
            await self.hub.send("executing", {"node": node_id, "display_node": node_id, "prompt_id": pid}, cid)
        try:
            if state.interrupt:
                raise Interrupted()
            if ndef.fn is None:
                raise NodeError(f"{class_type} needs model files; the simulator has none")
            call = functools.partial(ndef.fn, NodeContext(self, node_id), **inputs)
            result = await self.loop.run_in_executor(self.sim.pool, call)
            delay = self.faults.delay_for(class_type)
            if delay > 0:
                await asyncio.sleep(delay)
        except Interrupted:
            return {"node_id": node_id, "interrupted": True}
        except Exception as ex:
            return self.failure(node_id, ex, inputs)
        if isinstance(result, dict):
            outputs, ui = tuple(result.get("result", ())), result.get("ui")
        else:
            outputs, ui = result, None
        meta = {"node_id": node_id, "display_node": node_id, "parent_node": None, "real_node_id": node_id}
        entry = {"meta": meta, "output": ui} if ui else None
        state.cache[key] = (outputs, entry)
        if entry:
            self.ui[node_id] = entry
            if cid is not None:
                await self.hub.send(
                    "executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid}, cid
                )
        self.progress.finish(node_id)
        await self.send_progress_state()
        self.executed.append(node_id)
        return None

    def failure(self, node_id: str, ex: Exception, inputs: dict) -> dict:
        return {
            "node_id": node_id,
            "exception_message": f"{ex}\n",
            "exception_type": type_name(type(ex)),
            "traceback": traceback.format_tb(ex.__traceback__),
            "current_inputs": {name: [shown(value)] for name, value in inputs.items()},
        }

    async def on_progress(self, node_id: str, value, total, png, jpeg: bool = False) -> None:
        self.progress.update(node_id, value, total)
        await self.send_progress_state()
        with_metadata = png is not None and self.hub.supports_metadata(self.cid)
        if with_metadata:
            # save_image_websocket_metadata.json: event 4 comes before the `progress` frame, event 1 after it
            await self.hub.send_bytes(
                binary.preview_image_with_metadata(
                    png,
                    {
                        "node_id": node_id,
                        "prompt_id": self.prompt_id,
                        "display_node_id": node_id,
                        "parent_node_id": None,
                        "real_node_id": node_id,
                        "image_type": "image/jpeg" if jpeg else "image/png",
                    },
                ),
                self.cid,
            )
        await self.hub.send(
            "progress", {"value": value, "max": total, "prompt_id": self.prompt_id, "node": node_id}, self.cid
        )
        if png is not None and not with_metadata:
            image_format = binary.FORMAT_JPEG if jpeg else binary.FORMAT_PNG
            await self.hub.send_bytes(binary.preview_image(png, image_format), self.cid)
