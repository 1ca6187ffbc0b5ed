"""A tqdm bar fed by the worker's progress updates: `{"node", "value", "max"}` per ComfyUI node."""
from __future__ import annotations

from typing import Any, Optional

from tqdm import tqdm


class ProgressBar:
    """One bar, reset whenever the running node changes; any other update shape is shown as text."""

    def __init__(self, enabled: bool = True) -> None:
        self._bar = tqdm(total=None, unit="step", disable=not enabled, leave=False)
        self._node: Optional[str] = None
        self.updates = 0

    def __call__(self, update: Any) -> None:
        self.updates += 1
        if not isinstance(update, dict) or not {"node", "value", "max"} <= set(update):
            self._bar.set_description(str(update)[:60])
            return
        if update["node"] != self._node:
            self._node = update["node"]
            self._bar.reset(total=update["max"])
            self._bar.set_description(f"node {self._node}")
        self._bar.total = update["max"]
        self._bar.n = update["value"]
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
