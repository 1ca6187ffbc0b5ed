"""The async RunPod handler, with the container's adapters overridden by in-memory fakes."""
import asyncio
import threading

import pytest
from dependency_injector import providers

from domain.errors import ComfyUnreachable
from domain.model import Outcome, OutputRef
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from unit.domain.fakes import FakeComfyApi, FakeExecutionMonitor, InMemoryImageSink, InMemoryImageSource

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {}}, "2": {"class_type": "SaveImage", "inputs": {}}}


def handler_with(env=None, *, comfy=None, monitor=None, files=None):
    calls: list = []
    container = build_container(env or {})
    comfy = comfy or FakeComfyApi(calls, refs=(OutputRef("2", "images", "a.png"),))
    container.comfy_api.override(providers.Object(comfy))
    container.execution_monitor.override(providers.Object(monitor or FakeExecutionMonitor(calls)))
    container.image_source.override(providers.Object(InMemoryImageSource(files or {"a.png": b"png"})))
    container.image_sink.override(providers.Object(InMemoryImageSink()))
    return make_handler(container), comfy


def test_success_returns_the_worker_comfyui_shape():
    handler, _ = handler_with()
    response = asyncio.run(handler({"id": "job-7", "input": {"workflow": WORKFLOW}}))
    assert response["images"][0]["filename"] == "a.png"
    assert response["images"][0]["data"] == "mem://job-7/a.png"


def test_invalid_input_is_a_one_line_error():
    handler, _ = handler_with()
    response = asyncio.run(handler({"id": "j", "input": {"workflow": {"nodes": [], "links": []}}}))
    assert response["error_code"] == "invalid_input"
    assert response["error"].startswith("invalid_input: the workflow is in ComfyUI's UI format")


def test_worker_errors_become_error_responses():
    class Unreachable(FakeComfyApi):
        def wait_until_ready(self):
            raise ComfyUnreachable("ComfyUI did not answer at http://h:1 after 3 tries")

    handler, _ = handler_with(comfy=Unreachable([]))
    response = asyncio.run(handler({"id": "j", "input": {"workflow": WORKFLOW}}))
    assert response == {"error": "comfy_unreachable: ComfyUI did not answer at http://h:1 after 3 tries",
                        "error_code": "comfy_unreachable", "details": []}


def test_refresh_worker_flag_rides_along():
    handler, _ = handler_with({"REFRESH_WORKER": "true"})
    assert asyncio.run(handler({"id": "j", "input": {"workflow": WORKFLOW}}))["refresh_worker"] is True


def test_cancelling_the_task_interrupts_comfy_and_reraises():
    running = threading.Event()

    class BlockingExecution:
        def wait(self, prompt_id, *, deadline, on_progress, should_stop):
            running.set()
            while not should_stop():
                threading.Event().wait(0.01)
            return Outcome("interrupted")

    class BlockingMonitor(FakeExecutionMonitor):
        def watch(self, client_id):
            from contextlib import nullcontext
            return nullcontext(BlockingExecution())

    calls: list = []
    comfy = FakeComfyApi(calls)
    handler, _ = handler_with(comfy=comfy, monitor=BlockingMonitor(calls))

    async def scenario():
        task = asyncio.create_task(handler({"id": "j", "input": {"workflow": WORKFLOW}}))
        await asyncio.to_thread(running.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert comfy.cancelled == [comfy.queued[0].id]
