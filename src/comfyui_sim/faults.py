"""Fault knobs a test sets on `sim.faults` to make the simulator misbehave like a real deployment can."""
import threading
from typing import Optional, Union


class Faults:
    """Plain attributes, read by the server thread at the moment they matter; `reset()` turns all off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.drop_socket_after_frames: Optional[int] = None
            self.drop_socket_after_success: bool = False
            self.node_delay_s: Union[float, dict] = 0.0
            self.view_status: dict = {}
            self.frames_before_post_response: bool = False

    def delay_for(self, class_type: str) -> float:
        delay = self.node_delay_s
        if isinstance(delay, dict):
            return float(delay.get(class_type, 0.0))
        return float(delay or 0.0)
