"""One queued prompt's execution: node by node, cache hits, and the frames ComfyUI sends for each step."""

import asyncio
import functools
import time
import uuid

from . import binary
from .app_key import RunningSimulator
from .context import Interrupted, NodeContext, ProgressState
from .graph import ExecutionList, is_link, signatures
from .node_failure import node_failure
from .registry import NODES, NodeError
from .state import QueueItem, SimState

RAM_CACHE_ENTRIES = 512


def now_ms() -> int:
    return int(time.time() * 1000)


def with_asset_ids(ui: dict) -> dict:
    """0.25.0+ with --enable-assets: each file entry of a node's result gains its asset's `id` (0.33
    comfy_execution/asset_enrichment.py enrich_output_with_assets)."""
    return {
        key: [
            {**entry, "id": str(uuid.uuid4())}
            if isinstance(entry, dict) and "filename" in entry and "type" in entry
            else entry
            for entry in entries
        ]
        if isinstance(entries, list)
        else entries
        for key, entries in ui.items()
    }


class PromptExecution:
    """One queued prompt run as ComfyUI's PromptExecutor does: node by node, with the frames each step sends."""

    keys: dict

    def __init__(self, sim: RunningSimulator, state: SimState, item: QueueItem) -> None:
        self.sim, self.state, self.hub, self.faults = sim, state, state.hub, sim.faults
        self.prompt_id, self.prompt, self.extra, self.outputs = item.prompt_id, item.prompt, item.extra, item.outputs
        self.cid = self.extra.get("client_id")
        self.dirs, self.loop = sim.dirs, asyncio.get_running_loop()
        self.messages: list = []
        self.ui: dict = {}
        self.executed: list[str] = []
        self.progress = ProgressState(self.prompt_id)

    async def message(self, event: str, data: dict, broadcast: bool = False) -> None:
        data = {**data, "timestamp": now_ms()}
        self.messages.append([event, data])
        if self.cid is not None or broadcast:
            await self.hub.send(event, data, self.cid)

    def is_changed(self, node_id: str):
        ndef = NODES[self.prompt[node_id]["class_type"]]
        if ndef.is_changed is None:
            return None
        try:
            return ndef.is_changed(self.prompt[node_id].get("inputs", {}), self)
        except Exception as ex:
            return repr(ex)

    async def run(self) -> dict:
        state, pid = self.state, self.prompt_id
        state.interrupt, state.client_id = False, self.cid
        started = time.monotonic()
        await self.message("execution_start", {"prompt_id": pid})
        self.keys = signatures(self.prompt, self.is_changed)
        self.trim_cache()
        cached = [n for n in self.prompt if self.keys[n] in state.cache]
        await self.message("execution_cached", {"nodes": cached, "prompt_id": pid})
        order = ExecutionList(
            self.prompt,
            lambda n: self.keys[n] in state.cache,
            lambda n: NODES[self.prompt[n]["class_type"]].output_node,
        )
        for output in self.outputs:
            order.add_node(output)
        success = True
        while not order.is_empty():
            node_id = order.stage()
            failure = (
                await self.execute(node_id)
                if node_id is not None
                else node_failure(next(iter(order.pending)), NodeError("Dependency cycle detected"), {})
            )
            if failure:
                success = False
                await self.report(failure)
                break
            assert node_id is not None  # stage() gives None only for a cycle, reported above
            order.complete(node_id)
        else:
            await self.pad_to_prompt_time(started)
            await self.message("execution_success", {"prompt_id": pid})
            if self.faults.drop_socket_after_success and self.cid is not None:
                self.hub.drop_sid(self.cid)
        state.last_node_id = None
        status = {"status_str": "success" if success else "error", "completed": success, "messages": self.messages}
        return {
            "outputs": {n: u["output"] for n, u in self.ui.items()},
            "status": status,
            "meta": {n: u["meta"] for n, u in self.ui.items()},
        }

    def trim_cache(self) -> None:
        """What the cache still holds when the prompt starts. CLASSIC (the default before 0.23.0) keeps only the
        keys this prompt uses (0.33 comfy_execution/caching.py:175-182); RAM_PRESSURE (0.23.0+) keeps earlier
        prompts' results too, until memory runs short: then they are evicted (`faults.evict_cache`), and an
        identical prompt runs again (caching.py:522-602)."""
        state = self.state
        if not self.sim.profile.ram_pressure_cache:
            used = set(self.keys.values())
            state.cache = {key: value for key, value in state.cache.items() if key in used}
        elif self.faults.evict_cache:
            state.cache.clear()
        else:
            while len(state.cache) > RAM_CACHE_ENTRIES:  # the simulator's own bound on what it holds
                state.cache.pop(next(iter(state.cache)))

    async def pad_to_prompt_time(self, started: float) -> None:
        remaining = float(self.faults.prompt_time_s or 0.0) - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def report(self, failure: dict) -> None:
        node_id = failure["node_id"]
        head = {
            "prompt_id": self.prompt_id,
            "node_id": node_id,
            "node_type": self.prompt[node_id]["class_type"],
            "executed": list(self.executed),
        }
        if failure.get("interrupted"):
            # interrupt.json: names the node that was about to run, after its executing frame
            await self.message("execution_interrupted", head, broadcast=True)
            return
        body = {k: failure[k] for k in ("exception_message", "exception_type", "traceback", "current_inputs")}
        await self.message("execution_error", {**head, **body, "current_outputs": list(self.prompt)})

    async def send_progress_state(self) -> None:
        await self.hub.send("progress_state", self.progress.frame(), self.cid)

    async def execute(self, node_id: str):
        state, pid, cid = self.state, self.prompt_id, self.cid
        class_type = self.prompt[node_id]["class_type"]
        ndef, key = NODES[class_type], self.keys[node_id]
        if key in state.cache:
            _, ui = state.cache[key]
            if ui and not self.sim.profile.cached_history_needs_client:
                self.ui[node_id] = ui  # 0.3.64 and 0.28.0+: in /history whoever posted the prompt
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
            return node_failure(node_id, ex, inputs)
        if isinstance(result, dict):
            outputs, ui = tuple(result.get("result", ())), result.get("ui")
        else:
            outputs, ui = result, None
        if ui and self.sim.profile.asset_ids and self.sim.enable_assets:
            ui = with_asset_ids(ui)
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
