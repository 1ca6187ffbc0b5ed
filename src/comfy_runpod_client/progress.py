"""A tqdm bar fed by the job's status (its time in the queue) and the worker's progress updates (`percent`; a model
file's download before the run)."""

from __future__ import annotations

import threading
from typing import IO, Any, Optional

from tqdm import tqdm


class ProgressBar:
    """One bar for the job: the running node's steps (`step/steps`, a sampler's) while it reports them, else the
    worker's `percent` of the workflow's nodes; the description names the running node and the nodes done, and the
    elapsed time keeps moving (the bar is redrawn every `tick_s`) on jobs too quick for either."""

    def __init__(self, enabled: bool = True, *, file: Optional[IO[str]] = None, tick_s: float = 1.0) -> None:
        self._bar = tqdm(
            total=100,
            disable=not enabled,
            leave=False,
            file=file,
            bar_format="{desc} |{bar}| {postfix} [{elapsed}]",
        )
        self.updates = 0
        self._percent = 0.0
        self._closed = threading.Event()
        self._lock = threading.Lock()
        if enabled:
            threading.Thread(target=self._tick, args=(tick_s,), daemon=True, name="progress-bar").start()

    def __call__(self, update: Any) -> None:
        self.updates += 1
        with self._lock:
            if isinstance(update, dict) and update.get("stage") == "download":
                self._show(downloading(update))
                return
            if not isinstance(update, dict) or "percent" not in update:
                self._show(str(update)[:60])
                return
            self._percent = max(self._percent, _number(update.get("percent")))
            if update.get("queue_position"):
                self._show(f"queued, {update['queue_position']} ahead")
                return
            node = f"{update.get('node_class') or 'node'} {update.get('node') or ''}".strip()
            nodes = f"node {update.get('nodes_done', 0)}/{update.get('nodes_total', '?')}"
            step, steps = int(_number(update.get("step"))), int(_number(update.get("steps")))
            if steps > 0:
                self._show(f"{node}, {nodes}", step, steps, f"step {step}/{steps}")
            else:
                self._show(f"{node}, {nodes}", self._percent, 100, f"{self._percent:.0f}%")

    def status(self, status: str, waited_s: float) -> None:
        """RunPod's status before the worker's first update: the time in the queue (cold start included), then that
        the job runs."""
        with self._lock:
            if status == "IN_QUEUE":
                self._show(f"in queue {waited_s:.0f} s")
            elif status == "IN_PROGRESS" and not self.updates:
                self._show(f"started after {waited_s:.0f} s in queue")

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._bar.close()

    def _show(self, description: str, n: Optional[float] = None, total: float = 100, postfix: str = "") -> None:
        bar = self._bar
        bar.set_description_str(description, refresh=False)
        if n is not None:
            bar.total, bar.n = total, min(n, total)
            bar.set_postfix_str(postfix, refresh=False)
        bar.refresh()

    def _tick(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            with self._lock:
                if not self._closed.is_set():
                    self._bar.refresh()


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def downloading(update: dict) -> str:
    """`downloading loras/x.safetensors (1/2) 120/465 MB`."""
    done, total = update.get("bytes_done") or 0, update.get("bytes_total")
    size = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB" if isinstance(total, int) and total else f"{done / 1e6:.0f} MB"
    files = f"({(update.get('models_done') or 0) + 1}/{update.get('models_total') or 1})"
    return f"downloading {str(update.get('model') or 'a model')[-60:]} {files} {size}"
