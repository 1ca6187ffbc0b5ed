"""A cancelled job whose thread outlives the cancel wait: once it ends, the socket kept for its client id is closed."""
import asyncio
import threading

import pytest
from dependency_injector import providers

from adapters.base64_sink import Base64OutputSink
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from integration.sim_job import wait_until
from integration.test_runpod_handler_sim import TWO_OUTPUTS


class StubbornSink(Base64OutputSink):
    """A sink that does not heed the stop: it finishes its upload a while after the cancel."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def store(self, job_id, filename, content_type, chunks, budget):
        self.started.set()
        self.release.wait(10)
        return super().store(job_id, filename, content_type, chunks, budget)


def test_the_late_threads_socket_is_closed_once_it_ends(comfy_sim):
    container = build_container({"COMFY_HOST": comfy_sim.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20"})
    sink = StubbornSink()
    container.output_sink.override(providers.Object(sink))
    container.job_runner.add_kwargs(cancel_wait_s=0.2)
    handler = make_handler(container)

    async def scenario():
        task = asyncio.ensure_future(handler({"id": "late-1", "input": {"workflow": TWO_OUTPUTS}}))
        while not sink.started.is_set():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sink.release.set()  # the late thread now ends, and its socket is kept for a client id nobody gets again
        sink.started.clear()
        second = await handler({"id": "late-2", "input": {"workflow": TWO_OUTPUTS}})
        assert "error" not in second
        return second

    asyncio.run(scenario())
    assert wait_until(lambda: len(comfy_sim.client_ids()) == 1, 10), comfy_sim.client_ids()
