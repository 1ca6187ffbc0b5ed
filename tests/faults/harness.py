"""A worker built by the container around one simulator, and the leak check every fault row ends with."""
from __future__ import annotations

import asyncio
import gc
import os
import tempfile
import threading
import time
from typing import Any, Callable, Optional

import pytest
from dependency_injector import providers

from domain.execution.follow import FollowPolicy
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from handler_calls import answer, answering

FOREIGN_CLIENT = "other-client"
# The simulator runs in this process: its threads (server loop, node pool) are the peer's, not the worker's.
PEER_THREAD_PREFIXES = ("comfyui-sim",)
FAST_POLICY = dict(reconnect_attempts=20, reconnect_delay_s=0.2, final_frame_grace_s=0.5, deaf_check_s=0.5,
                   tick_s=0.05, silence_check_s=60.0, stall_timeout_s=900.0)


class Worker:
    """`make_handler(build_container(env))` with a fast follow policy; `sink` replaces the image sink."""

    def __init__(self, host: str, *, policy: Optional[dict] = None, sink: Any = None, **env: str) -> None:
        self.container = build_container({"COMFY_HOST": host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20",
                                          "WEBSOCKET_RECONNECT_DELAY_S": "0.2", **env})
        self.container.follow_policy.override(providers.Object(FollowPolicy(**{**FAST_POLICY, **(policy or {})})))
        if sink is not None:
            self.container.output_sink.override(providers.Object(sink))
        self.handler = make_handler(self.container)

    def run(self, job_input: Any, *, during: Optional[Callable[[], None]] = None, job_id: str = "fault") -> dict:
        helper = threading.Thread(target=during, name="test-during") if during else None
        if helper:
            helper.start()
        try:
            return answer(self.handler, {"id": job_id, "input": job_input})
        finally:
            if helper:
                helper.join(30)

    def cancel_when(self, job_input: Any, ready: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Start the job, cancel it once `ready()` holds; the handler must re-raise `CancelledError`."""
        async def scenario() -> None:
            task = asyncio.ensure_future(answering(self.handler, {"id": "cancelled", "input": job_input}))
            give_up = time.monotonic() + timeout_s
            while not ready() and time.monotonic() < give_up and not task.done():
                await asyncio.sleep(0.02)
            assert not task.done(), f"the job ended before it could be cancelled: {task.result()}"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        asyncio.run(scenario())

    def close(self) -> None:
        """Two things persist across jobs by design: the requests Session's keep-alive pool and the websocket
        kept open for the next job of the same client id. Close both before counting fds."""
        self.container.http_session().close()
        self.container.execution_monitor().close()


def open_fds() -> dict:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return out


def describe_fds(targets: set) -> list:
    """Each socket's TCP state line from /proc/net/tcp (local, remote, state), to tell who holds it."""
    inodes = {t[len("socket:["):-1]: t for t in targets if t.startswith("socket:[")}
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/unix"):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115 (a log the process writes until stop(), which closes it)
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            for inode in set(fields) & set(inodes):
                found[inodes[inode]] = f"{table.rsplit('/', 1)[1]} {' '.join(fields[1:4])}"
    return sorted(f"{t} {found.get(t, '')}".strip() for t in targets)


def worker_threads() -> set:
    return {t for t in threading.enumerate() if not t.name.startswith(PEER_THREAD_PREFIXES)}


def ours_in_queue(sim) -> list:
    """Queue items (running or pending) that are not another client's, read from the simulator's memory."""
    state = sim.state
    items = state.running_items() + state.pending()
    return [item[1] for item in items if (item[3] or {}).get("client_id") != FOREIGN_CLIENT]


def settle(predicate: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    give_up = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < give_up:
        time.sleep(0.05)
    return predicate()


class LeakCheck:
    """Baseline before the row; `verify()` after: no new thread, no new fd, no temp file, none of ours queued."""

    def __init__(self, sim, temp_dir: str) -> None:
        self.sim, self.temp_dir = sim, temp_dir
        self.workers: list[Worker] = []
        self.check_queue = sim is not None
        self._threads, self._fds = worker_threads(), open_fds()

    def worker(self, host: Optional[str] = None, **kwargs: Any) -> Worker:
        worker = Worker(host or self.sim.host, **kwargs)
        self.workers.append(worker)
        return worker

    def verify(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers.clear()
        # urllib3 2.x closes a pool's connections when the pool is collected, not on Session.close()
        gc.collect()
        if self.check_queue:
            assert settle(lambda: not ours_in_queue(self.sim)), f"ComfyUI still queues {ours_in_queue(self.sim)}"
        assert settle(lambda: not (worker_threads() - self._threads)), \
            f"threads left running: {sorted(t.name for t in worker_threads() - self._threads)}"
        # server-side sockets close once the simulator sees the client's FIN: allow it a moment
        assert settle(lambda: len(open_fds()) <= len(self._fds)), \
            f"fds left open: {describe_fds(set(open_fds().values()) - set(self._fds.values()))}"
        leftovers = os.listdir(self.temp_dir)
        assert not leftovers, f"temp files left: {leftovers}"


@pytest.fixture
def leaks(request, tmp_path, monkeypatch):
    """Every row asks for it; rows with a simulator take `comfy_sim` first so its start is in the baseline."""
    sim = request.getfixturevalue("comfy_sim") if "comfy_sim" in request.fixturenames else None
    temp = tmp_path / "worker-tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    check = LeakCheck(sim, str(temp))
    yield check
    check.verify()
