"""A websocket-client socket recorded on a thread, and frame labels like the transcripts' `sequence`."""

import json
import threading
import time
from typing import Callable, Optional

import requests
import websocket

from comfyui_sim.binary import event_type


def label(frame) -> str:
    """`status(qr=N)`, `executing(ID)`, `executed(ID)`, `progress(V/M)`, `bin:EVENT` or the frame type."""
    if isinstance(frame, (bytes, bytearray)):
        return f"bin:{event_type(frame)}"
    kind, data = frame["type"], frame.get("data", {})
    if kind == "status":
        return f"status(qr={data['status']['exec_info']['queue_remaining']})"
    if kind in ("executing", "executed"):
        return f"{kind}({data['node']})"
    if kind == "progress":
        return f"progress({data['value']}/{data['max']})"
    return kind


def recorded_labels(entries: list) -> list:
    """Labels of a transcript's `frames` list (close frames and exceptions are not frames)."""
    out = []
    for entry in entries:
        frame = entry.get("frame")
        if not isinstance(frame, dict):
            continue
        out.append(f"bin:{frame['event_type']}" if frame.get("binary") else label(frame))
    return out


class FrameRecorder:
    """Opens `ws://HOST/ws?clientId=ID` with websocket-client and appends every frame it receives."""

    def __init__(self, host: str, client_id: Optional[str] = None, first_message: Optional[dict] = None) -> None:
        query = f"?clientId={client_id}" if client_id else ""
        self.ws = websocket.create_connection(f"ws://{host}/ws{query}", timeout=10)
        self.ws.settimeout(None)
        self.frames: list = []
        self.error: Optional[BaseException] = None
        self.closed = threading.Event()
        self._changed = threading.Condition()
        if first_message is not None:
            self.ws.send(json.dumps(first_message))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                message = self.ws.recv()
            except BaseException as ex:
                self.error = ex
                break
            if message == "":
                break
            with self._changed:
                self.frames.append(json.loads(message) if isinstance(message, str) else message)
                self._changed.notify_all()
        self.closed.set()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = 20.0) -> bool:
        give_up = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.frames):
                left = give_up - time.monotonic()
                if left <= 0 or (self.closed.is_set() and not predicate(self.frames)):
                    return predicate(self.frames)
                self._changed.wait(min(left, 0.1))
            return True

    def wait_count(self, count: int, timeout: float = 20.0) -> bool:
        return self.wait_for(lambda frames: len(frames) >= count, timeout)

    def wait_label(self, wanted: str, timeout: float = 20.0) -> bool:
        return self.wait_for(lambda frames: any(label(f) == wanted for f in frames), timeout)

    def wait_final(self, prompt_id: str, timeout: float = 30.0) -> bool:
        def final(frames: list) -> bool:
            return any(
                isinstance(f, dict)
                and f["type"] == "executing"
                and f["data"].get("node") is None
                and f["data"].get("prompt_id") == prompt_id
                for f in frames
            )

        return self.wait_for(final, timeout)

    def labels(self) -> list:
        with self._changed:
            return [label(f) for f in self.frames]

    def close(self) -> None:
        try:
            self.ws.abort()
            self.ws.shutdown()
        except Exception:
            pass
        self._thread.join(5)


def wait_reachable(sim, timeout: float = 10.0) -> None:
    """Block until the simulator answers HTTP again (after a blackout or restart)."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        try:
            requests.get(f"{sim.base_url}/prompt", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("simulator did not come back")
