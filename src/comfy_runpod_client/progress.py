"""A tqdm bar fed by the job's status (its time in the queue) and the worker's progress updates (`percent`; a model
file's download before the run)."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


class ProgressBar:
    """Shows `percent` as the bar and the running node, its steps and the queue position as the description."""

    def __init__(self, enabled: bool = True) -> None:
        self._bar = tqdm(
            total=100,
            unit="%",
            disable=not enabled,
            leave=False,
            bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt}% [{elapsed}]",
        )
        self.updates = 0
        self._started = False

    def __call__(self, update: Any) -> None:
        self.updates += 1
        if isinstance(update, dict) and update.get("stage") == "download":
            self._bar.set_description(downloading(update))
            self._bar.refresh()
            return
        if not isinstance(update, dict) or "percent" not in update:
            self._bar.set_description(str(update)[:60])
            return
        if update.get("queue_position"):
            self._bar.set_description(f"queued, {update['queue_position']} ahead")
        else:
            node = f"{update.get('node_class') or 'node'} {update.get('node') or ''}".strip()
            steps = f" {update['step']}/{update['steps']}" if update.get("steps") else ""
            self._bar.set_description(f"{node}{steps} ({update.get('nodes_done', 0)}/{update.get('nodes_total', '?')})")
        self._bar.n = max(self._bar.n, float(update["percent"]))
        self._bar.refresh()

    def status(self, status: str, waited_s: float) -> None:
        """RunPod's status before the worker's first update: the time in the queue, cold start included."""
        if status == "IN_QUEUE":
            self._bar.set_description(f"in queue {waited_s:.0f} s")
        elif status == "IN_PROGRESS" and not self.updates and not self._started:
            self._started = True
            self._bar.set_description(f"started after {waited_s:.0f} s in queue")

    def close(self) -> None:
        self._bar.close()


def downloading(update: dict) -> str:
    """`downloading loras/x.safetensors (1/2) 120/465 MB`."""
    done, total = update.get("bytes_done") or 0, update.get("bytes_total")
    size = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB" if isinstance(total, int) and total else f"{done / 1e6:.0f} MB"
    files = f"({(update.get('models_done') or 0) + 1}/{update.get('models_total') or 1})"
    return f"downloading {str(update.get('model') or 'a model')[-60:]} {files} {size}"
