"""ComfySimulator: the aiohttp server on its own thread and event loop, with outages and restarts on demand."""

import asyncio
import copy
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from aiohttp import web

from .executor import worker
from .faults import Faults
from .info import MODEL_FOLDERS
from .listener import Listener
from .paths import Dirs
from .routes import build_app
from .state import QueueItem, SimState
from .validation import validate_prompt
from .versions import Profile, profile


class ComfySimulator:
    """`models` maps a model folder (`/models` names: checkpoints, loras, vae, ...) to the file names "installed"
    there; loaders list them in /object_info and validate against them. `sim.models` can be changed later. Files on
    disk count too, as ComfyUI finds them: in `<root>/models/<folder>` and, with `extra_models` (a base folder, as an
    extra_model_paths.yaml entry names one), in `<extra_models>/<folder>`.

    `version` is the ComfyUI release whose client-visible behaviour it has (`versions.PROFILES`: 0.3.64, 0.8.0,
    0.17.2, 0.35.1; "0.17" picks 0.17.2); `enable_assets` is ComfyUI's `--enable-assets` (asset ids on outputs,
    0.25.0+)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        models: Optional[dict] = None,
        extra_models: Optional[str] = None,
        *,
        version: Optional[str] = None,
        enable_assets: bool = False,
    ) -> None:
        self.profile: Profile = profile(version)
        self.enable_assets = enable_assets
        self.models: dict = {folder: list(names) for folder, names in (models or {}).items()}
        self.extra_models = extra_models
        self.faults = Faults()
        self.faults.attach(self._socket_action)
        self.received_ws_messages: list = []
        self.received_interrupts: list = []  # the prompt_id of each POST /interrupt (None: none given)
        self.received_cancels: list = []  # the id of each POST /api/jobs/{id}/cancel the profile has
        self._bind_host, self._port = host, port
        self._thread: Optional[threading.Thread] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.listener: Optional[Listener] = None
        self._relisten: Optional[asyncio.TimerHandle] = None
        self.state: Optional[SimState] = None

    @property
    def host(self) -> str:
        port = self.listener.port if self.listener else self._port
        return f"{self._bind_host}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def _live_state(self) -> SimState:
        """The state of the running server (`_boot` makes it, a restart replaces it)."""
        assert self.state is not None, "the simulator is not started"
        return self.state

    @property
    def _live_loop(self) -> asyncio.AbstractEventLoop:
        assert self.loop is not None, "the simulator is not started"
        return self.loop

    @property
    def _live_listener(self) -> Listener:
        assert self.listener is not None, "the simulator is not started"
        return self.listener

    def __enter__(self) -> "ComfySimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ComfySimulator":
        if self._thread is not None:
            return self
        self.dirs = Dirs(tempfile.mkdtemp(prefix="comfyui-sim-"), self.models, tuple(MODEL_FOLDERS), self.extra_models)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="comfyui-sim-node")
        self.loop = asyncio.new_event_loop()
        # aiohttp's FileResponse and DNS use the loop's default executor: name its threads as the simulator's
        self.loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="comfyui-sim-io"))
        started = threading.Event()
        failure: list[Exception] = []
        self._thread = threading.Thread(target=self._serve, args=(started, failure), name="comfyui-sim", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            self._thread.join(5)
            self._thread = None
            shutil.rmtree(self.dirs.root, ignore_errors=True)
            raise failure[0]
        return self

    def _serve(self, started: threading.Event, failure: list) -> None:
        loop = self._live_loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._boot())
        except Exception as ex:
            failure.append(ex)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()

    async def _boot(self) -> None:
        self.runner = web.AppRunner(build_app(self), handle_signals=False, access_log=None)
        await self.runner.setup()
        self.listener = Listener(self.runner, self._bind_host, self._port)
        self._fresh_state()
        await self.listener.open()

    def _fresh_state(self) -> None:
        self.state = SimState(self.faults)
        self._worker = asyncio.ensure_future(worker(self, self.state))

    async def _go_down(self) -> None:
        """Stop listening and cut every connection, websockets without a close frame (PROTOCOL.md fact 13)."""
        if self._relisten is not None:
            self._relisten.cancel()
            self._relisten = None
        self._live_state.hub.drop_all()
        self._live_listener.close()

    async def _outage(self, seconds: float, restart: bool, keep_history: bool = False) -> None:
        await self._go_down()
        if restart:
            history = self._live_state.history
            self._live_state.dead = True
            self._live_state.release_all()
            self._worker.cancel()
            self.dirs.clear_temp()
            self._fresh_state()
            if keep_history:
                self._live_state.history.update(history)
        if seconds <= 0:
            await self._live_listener.open()
        else:
            loop = asyncio.get_running_loop()
            self._relisten = loop.call_later(seconds, lambda: loop.create_task(self._live_listener.open()))

    def _call(self, coroutine, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self._live_loop).result(timeout)

    def blackout(self, seconds: float) -> None:
        """Unreachable but not restarted: sockets dropped, connections refused, back on the same port later."""
        self._call(self._outage(seconds, restart=False))

    def restart(self, down_s: float = 0.0, keep_history: bool = False) -> None:
        """A process restart: everything in memory is forgotten (the finished prompts' history too, unless
        `keep_history`, as behind a proxy that persists it); files on disk stay, temp/ is emptied. The running
        and pending prompts are lost either way."""
        self._call(self._outage(down_s, restart=True, keep_history=keep_history))

    def queue_foreign(self, prompt: dict, count: int = 1, client_id: str = "other-client") -> list:
        """Queue `count` copies of `prompt` for another client, as if it had POSTed them; their prompt ids."""

        async def put() -> list:
            ok, error, outputs, _ = validate_prompt(prompt, self.dirs, None, self.profile)
            if not ok:
                raise ValueError(f"invalid foreign prompt: {error}")
            ids = []
            for _ in range(count):
                prompt_id = uuid.uuid4().hex
                extra = {"client_id": client_id, "create_time": int(time.time() * 1000)}
                state = self._live_state
                await state.put(QueueItem(state.number, prompt_id, prompt, extra, outputs))
                state.number += 1
                ids.append(prompt_id)
            return ids

        return self._call(put())

    def stop(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        try:
            self._call(self._shutdown())
        finally:
            loop = self._live_loop
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()
            self.pool.shutdown(wait=False, cancel_futures=True)
            shutil.rmtree(self.dirs.root, ignore_errors=True)

    async def _shutdown(self) -> None:
        await self._go_down()
        self._live_state.dead = True
        self._live_state.release_all()
        self._worker.cancel()
        await self.runner.cleanup()

    def _socket_action(self, name: str, *args):
        async def act():
            hub = self._live_state.hub
            return hub.freeze(*args, asyncio.get_running_loop()) if name == "freeze" else hub.notice_frozen()

        return self._call(act())

    def client_ids(self) -> list:
        """The client ids frames are sent to now (ComfyUI's `sockets` map)."""

        async def read() -> list:
            return list(self._live_state.hub.sockets)

        return self._call(read())

    def history(self, prompt_id: str) -> dict:
        if self._thread is None:
            return copy.deepcopy(self.state.history.get(prompt_id, {})) if self.state else {}

        async def read() -> dict:
            return copy.deepcopy(self._live_state.history.get(prompt_id, {}))

        return self._call(read())

    def output_files(self) -> list:
        return self.dirs.written_files()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until no prompt is queued or running."""
        give_up = time.monotonic() + timeout
        while self._live_state.remaining() and time.monotonic() < give_up:
            time.sleep(0.01)
