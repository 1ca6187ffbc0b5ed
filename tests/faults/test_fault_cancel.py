"""Fault matrix, cancel rows: a RunPod cancel while our prompt waits behind another client's, while it runs,
and while its outputs are delivered. The handler re-raises CancelledError; ComfyUI keeps nothing of ours."""
import threading

from adapters.base64_sink import Base64OutputSink
from faults.harness import ours_in_queue
from faults.workflows import chain, outputs, stalling


def test_cancel_while_pending_behind_another_client_deletes_it_from_the_queue(comfy_sim, leaks):
    foreign = comfy_sim.queue_foreign(stalling("blocker"))
    worker = leaks.worker()
    worker.cancel_when({"workflow": chain("pending")}, lambda: bool(comfy_sim.state.pending() and ours_in_queue(comfy_sim)))
    assert not ours_in_queue(comfy_sim)  # deleted at once, not left to run after the blocker
    assert [item[1] for item in comfy_sim.state.running_items()] == foreign
    comfy_sim.state.interrupt = True  # let the blocker go


def test_cancel_while_running_interrupts_it(comfy_sim, leaks):
    worker = leaks.worker()
    worker.cancel_when({"workflow": stalling("running")}, lambda: bool(ours_in_queue(comfy_sim) and comfy_sim.state.running))


class BlockingSink(Base64OutputSink):
    def __init__(self):
        self.started = threading.Event()
        self.finished = []

    def store(self, job_id, filename, content_type, chunks, budget):
        self.started.set()
        for _ in range(200):
            budget.sleep(0.05, f"storing {filename}")
        self.finished.append(filename)
        return super().store(job_id, filename, content_type, chunks, budget)


def test_cancel_while_delivering_stops_the_delivery(comfy_sim, leaks):
    sink = BlockingSink()
    worker = leaks.worker(sink=sink)
    worker.cancel_when({"workflow": outputs("delivering", 3)}, sink.started.is_set)
    assert sink.finished == []
