"""The single prompt worker: runs queued prompts in order and sends ComfyUI's frame sequence for each."""

import asyncio
import logging
import time

from .context import ProgressState
from .graph import ExecutionList, signatures
from .registry import NODES, NodeError
from .steps import NodeSteps

log = logging.getLogger("comfyui_sim")


def now_ms() -> int:
    return int(time.time() * 1000)


async def worker(sim, state) -> None:
    while True:
        item_id, item = await state.get()
        cid = item[3].get("client_id")
        try:
            entry = await PromptRun(sim, state, item).run()
        except Exception:
            log.exception("simulator bug while running %s", item[1])
            entry = {"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": []}, "meta": {}}
        await state.task_done(item_id, entry)
        if cid is not None:
            if sim.faults.drop_socket_before_final:
                state.hub.drop_sid(cid)
            # PROTOCOL.md fact 1 / empty_image_single.json: the final frame, only to the posting client
            await state.hub.send("executing", {"node": None, "prompt_id": item[1]}, cid)
        state.release(item[1])
        if state.flags.pop("free_memory", False):
            state.cache.clear()


class PromptRun(NodeSteps):
    def __init__(self, sim, state, item: tuple) -> None:
        self.sim, self.state, self.hub, self.faults = sim, state, state.hub, sim.faults
        self.number, self.prompt_id, self.prompt, self.extra, self.outputs = item
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
        await self.message("execution_start", {"prompt_id": pid})
        self.keys = signatures(self.prompt, self.is_changed)
        used = set(self.keys.values())
        state.cache = {key: value for key, value in state.cache.items() if key in used}
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
                else self.failure(next(iter(order.pending)), NodeError("Dependency cycle detected"), {})
            )
            if failure:
                success = False
                await self.report(failure)
                break
            assert node_id is not None  # stage() gives None only for a cycle, reported above
            order.complete(node_id)
        else:
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
