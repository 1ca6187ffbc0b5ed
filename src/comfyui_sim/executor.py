"""The single prompt worker: runs queued prompts in order and sends ComfyUI's frame sequence for each."""

import logging

from .app_key import RunningSimulator
from .prompt_execution import PromptExecution
from .state import SimState

log = logging.getLogger("comfyui_sim")


async def worker(sim: RunningSimulator, state: SimState) -> None:
    while True:
        item_id, item = await state.get()
        cid = item.extra.get("client_id")
        try:
            entry = await PromptExecution(sim, state, item).run()
        except Exception:
            log.exception("simulator bug while running %s", item.prompt_id)
            entry = {"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": []}, "meta": {}}
        await state.task_done(item_id, entry)
        if cid is not None:
            if sim.faults.drop_socket_before_final:
                state.hub.drop_sid(cid)
            # PROTOCOL.md fact 1 / empty_image_single.json: the final frame, only to the posting client
            await state.hub.send("executing", {"node": None, "prompt_id": item.prompt_id}, cid)
        state.release(item.prompt_id)
        if state.flags.pop("free_memory", False):
            state.cache.clear()
