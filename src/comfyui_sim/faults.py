"""Fault knobs a test sets on `sim.faults` to make the simulator misbehave like a real deployment can."""

import threading
from typing import Any, Callable, Optional, Union


class Faults:
    """Plain attributes, read by the server thread at the moment they matter; `reset()` turns all off.

    Knobs (all off after `reset()`):

    - `drop_socket_after_frames`: every new websocket is cut (TCP closed, no close frame) once it has been sent
      that many frames.
    - `drop_socket_after_success`: the posting client's socket is cut right after `execution_success`, so the
      final `executing {node: null}` frame is lost (ws_drop_before_final.json).
    - `drop_socket_before_final`: the posting client's socket is cut exactly before the final
      `executing {node: null}` frame (after the `status` frame that follows the outcome).
    - `drop_with_reset`: every cut above ends the TCP connection with a reset (RST: `SO_LINGER` on, 0 s, then
      close) instead of a FIN.
    - `node_delay_s`: seconds every node (a float) or the named classes (a dict `{class_type: seconds}`) take
      on top of their real work.
    - `prompt_time_s`: a prompt that succeeds lasts at least this long: after its last node the simulator
      waits until that many seconds have passed since `execution_start`, then sends `execution_success`. A
      prompt whose own work takes longer keeps its own time (a fixed execution time however loaded the
      machine is).
    - `view_status`: `{filename: status}`; `/view` of that file name answers that status with an empty body.
    - `view_truncate`: `{filename: n}`; `/view` of that file declares its full Content-Length, sends only the
      first `n` bytes and closes the connection.
    - `upload_status`: `POST /upload/image` answers this status (e.g. 500, with aiohttp's trouble body).
    - `inject_frames`: payloads (`str` for text frames, `bytes` for binary ones, see `junk.py`) sent to a
      client before each frame addressed to it alone (the frames of its prompts).
    - `frames_before_post_response`: `POST /prompt` answers only after the prompt has finished.
    - `post_delay_s`: `{class_type: seconds}`; a `POST /prompt` whose prompt holds a node of that class is queued
      (and answered) only that long after it arrived, as a large workflow's post is (other posts overtake it).
    - `evict_cache`: memory is short (RAM-pressure caching, the default from 0.23.0): whatever earlier prompts left
      in the cache is evicted when a prompt starts, so an identical prompt runs again instead of being served from
      the cache. Profiles with CLASSIC caching (before 0.23.0) ignore it.
    - `late_teardown_s`: the server notices a websocket's end only that long after it happened, as with a
      silent network loss. Its teardown then runs late and, like ComfyUI's `self.sockets.pop(sid, None)`,
      unregisters whatever socket holds the client id by then: a socket reopened meanwhile with the same id
      gets its initial `status` frame and nothing after it (a deaf socket).

    Actions (not undone by `reset()`, they act on sockets that exist now):

    - `freeze_socket(sid, notice_after_s=None)`: the socket now registered under `sid` becomes half dead: the
      server sends it nothing more, reads nothing from it (so it answers no websocket ping and sees no close
      frame or FIN) and keeps it open. After `notice_after_s` seconds (never when None) the server notices:
      it closes the connection and runs the handler's teardown, with its unconditional pop.
    - `notice_frozen()`: the server notices every frozen socket now (as `notice_after_s` elapsing would).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: Optional[Callable] = None
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.drop_socket_after_frames: Optional[int] = None
            self.drop_socket_after_success: bool = False
            self.node_delay_s: Union[float, dict] = 0.0
            self.prompt_time_s: float = 0.0
            self.view_status: dict = {}
            self.frames_before_post_response: bool = False
            self.post_delay_s: dict = {}
            self.late_teardown_s: float = 0.0
            self.drop_socket_before_final: bool = False
            self.drop_with_reset: bool = False
            self.view_truncate: dict = {}
            self.upload_status: Optional[int] = None
            self.inject_frames: list = []
            self.interrupt_ignores_id: bool = False
            self.evict_cache: bool = False

    def attach(self, actions: Callable) -> None:
        """The simulator hands in `actions(name, *args)`, which runs a hub action on the server's loop."""
        self._actions = actions

    def freeze_socket(self, sid: str, notice_after_s: Optional[float] = None) -> bool:
        """True when a socket held `sid` and is now frozen."""
        return bool(self._run("freeze", sid, notice_after_s))

    def notice_frozen(self) -> int:
        """How many frozen sockets the server noticed (closed and tore down)."""
        return int(self._run("notice_frozen"))

    def _run(self, name: str, *args: object) -> Any:
        actions = self._actions
        assert actions is not None, "Faults actions need a simulator (ComfySimulator attaches them)"
        return actions(name, *args)

    def delay_for(self, class_type: str) -> float:
        delay = self.node_delay_s
        if isinstance(delay, dict):
            return float(delay.get(class_type, 0.0))
        return float(delay or 0.0)
