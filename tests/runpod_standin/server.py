"""RunpodStandIn: the aiohttp server on its own thread, and the environment a worker needs to use it."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, Optional

from aiohttp import web

from . import public_routes, worker_routes
from .appkeys import BOOK, SETTINGS
from .jobs import Job, JobBook


class RunpodStandIn:
    """Plays RunPod on loopback; `worker_env()` gives the variables RunPod sets in a worker's container."""

    def __init__(self, *, port: int = 0, endpoint_id: str = "standin-endpoint", api_key: str = "standin-api-key",
                 ai_key: str = "standin-worker-key", max_result_bytes: int = 20 * 1024 * 1024,
                 take_wait_s: float = 1.0, stop_wait_s: float = 1.0, runsync_wait_s: float = 90.0,
                 take_latency_s: float = 0.15, result_latency_s: float = 0.15) -> None:
        self.endpoint_id, self.api_key, self.ai_key = endpoint_id, api_key, ai_key
        self.book = JobBook()
        self.take_latency_s, self.result_latency_s = take_latency_s, result_latency_s
        self._port = port
        self._max_result_bytes = max_result_bytes
        self._settings = {"max_result_bytes": max_result_bytes, "take_wait_s": take_wait_s,
                          "stop_wait_s": stop_wait_s, "runsync_wait_s": runsync_wait_s,
                          # a round trip to RunPod: added to every job-take answer and every result post
                          "take_latency_s": take_latency_s, "result_latency_s": result_latency_s}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """The public API root, like https://api.runpod.ai/v2."""
        return f"{self.base_url}/v2"

    def worker_env(self, pod_id: str = "standin-worker-1") -> dict:
        """RunPod's worker variables; runpod-python fills `$ID` and `$RUNPOD_POD_ID` itself."""
        root = f"{self.api_base}/{self.endpoint_id}"
        return {
            # rp_job.py: $ID is the worker id; `&job_in_progress=` is appended, so a query string must exist
            "RUNPOD_WEBHOOK_GET_JOB": f"{root}/job-take/$ID?gpu=standin",
            # rp_http.py: $RUNPOD_POD_ID is the worker id, $ID the job id; `&isStream=` is appended
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{root}/job-done/$RUNPOD_POD_ID/$ID?gpu=standin",
            "RUNPOD_WEBHOOK_POST_STREAM": f"{root}/job-stream/$RUNPOD_POD_ID/$ID?gpu=standin",
            "RUNPOD_WEBHOOK_PING": f"{root}/ping/$RUNPOD_POD_ID?gpu=standin",
            "RUNPOD_AI_API_KEY": self.ai_key,
            "RUNPOD_POD_ID": pod_id,
            "RUNPOD_ENDPOINT_ID": self.endpoint_id,
            "RUNPOD_PING_INTERVAL": "1000",  # rp_ping.py: milliseconds, divided down to whole seconds
            # rp_fitness.py: production start-up checks probe 8.8.8.8 and the GPU; off on loopback
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "RUNPOD_SKIP_GPU_CHECK": "true",
        }

    def start(self) -> RunpodStandIn:
        app = web.Application(client_max_size=self._max_result_bytes + 32 * 1024 * 1024)
        app[BOOK] = self.book
        app[SETTINGS] = {"api_key": self.api_key, "ai_key": self.ai_key, **self._settings}
        app.add_routes(worker_routes.routes)
        app.add_routes(public_routes.routes)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(app, self._loop, ready), name="runpod-standin",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("RunPod stand-in did not start")
        return self

    def _serve(self, app: web.Application, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._runner = runner = web.AppRunner(app, handle_signals=False, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        loop.run_until_complete(site.start())
        self._port = runner.addresses[0][1]
        ready.set()
        loop.run_forever()

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(30)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> RunpodStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def submit(self, job_input) -> Job:
        """Queues a job as `/run` does, without going through HTTP."""
        return self.book.submit(job_input)

    def wait_for(self, condition: Callable[[], object], timeout_s: float = 120.0, what: str = "condition"):
        """Polls `condition` until it is truthy; an AssertionError names `what` after `timeout_s`."""
        give_up = time.monotonic() + timeout_s
        while time.monotonic() < give_up:
            found = condition()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"RunPod stand-in: no {what} within {timeout_s} s")
