"""Everything a ComfyUI process holds in memory: queue, running prompt, history, cache; a restart replaces it."""

import asyncio
import heapq
import itertools
from typing import NamedTuple, Optional

from .hub import Hub

MAXIMUM_HISTORY_SIZE = 10000


class QueueItem(NamedTuple):
    """A queued prompt as ComfyUI keeps it: /queue and /history show these five fields as a list
    (queue_two_prompts_other_client.json)."""

    number: float
    prompt_id: str
    prompt: dict
    extra: dict
    outputs: list


class SimState:
    def __init__(self, faults) -> None:
        self.hub = Hub(faults)
        self.queue: list = []
        self.counter = itertools.count()
        self.running: dict = {}
        self.history: dict = {}
        self.number = 0
        self.cache: dict = {}
        self.flags: dict = {}
        self.interrupt = False
        self.client_id: Optional[str] = None
        self.last_node_id: Optional[str] = None
        self.wakeup = asyncio.Event()
        self.waiters: dict = {}
        self.dead = False

    def remaining(self) -> int:
        return len(self.queue) + len(self.running)

    def queue_info(self) -> dict:
        return {"exec_info": {"queue_remaining": self.remaining()}}

    async def queue_updated(self) -> None:
        await self.hub.send("status", {"status": self.queue_info()}, None)

    async def put(self, item: QueueItem) -> None:
        heapq.heappush(self.queue, (item.number, next(self.counter), item))
        await self.queue_updated()
        self.wakeup.set()

    async def get(self) -> tuple[int, QueueItem]:
        while not self.queue:
            self.wakeup.clear()
            await self.wakeup.wait()
        _, item_id, item = heapq.heappop(self.queue)
        self.running[item_id] = item
        await self.queue_updated()
        return item_id, item

    async def task_done(self, item_id: int, entry: dict) -> None:
        item = self.running.pop(item_id)
        if len(self.history) > MAXIMUM_HISTORY_SIZE:
            self.history.pop(next(iter(self.history)))
        self.history[item.prompt_id] = {"prompt": list(item), **entry}
        await self.queue_updated()

    def pending(self) -> list:
        return [list(entry[2]) for entry in sorted(self.queue)]

    def running_items(self) -> list:
        return [list(item) for item in self.running.values()]

    async def wipe_queue(self) -> None:
        for _, _, item in self.queue:
            self.release(item.prompt_id)
        self.queue = []
        await self.queue_updated()

    async def delete_pending(self, prompt_id: str) -> None:
        """queue_delete_pending.json: deleting the only pending prompt broadcasts status twice (wipe + update)."""
        for index, (_, _, item) in enumerate(self.queue):
            if item.prompt_id == prompt_id:
                if len(self.queue) == 1:
                    await self.wipe_queue()
                else:
                    self.queue.pop(index)
                    heapq.heapify(self.queue)
                    self.release(prompt_id)
                await self.queue_updated()
                return

    def history_items(self, max_items: Optional[int] = None, offset: int = -1) -> dict:
        out, keys = {}, list(self.history)
        if offset < 0 and max_items is not None:
            offset = len(keys) - max_items
        for index, key in enumerate(keys):
            if index >= offset:
                out[key] = self.history[key]
                if max_items is not None and len(out) >= max_items:
                    break
        return out

    def wait_for(self, prompt_id: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(prompt_id, []).append(future)
        return future

    def release(self, prompt_id: str) -> None:
        for future in self.waiters.pop(prompt_id, []):
            if not future.done():
                future.set_result(None)

    def release_all(self) -> None:
        for prompt_id in list(self.waiters):
            self.release(prompt_id)
