"""The first job of fresh client processes (`small`, base64), over several fresh processes of each kind."""
from __future__ import annotations

import pathlib
import statistics
from typing import Iterator

from bench.processes import ClientProcess
from bench.workflows import build_job


def measure_cold(clients: tuple[str, ...], repeats: int, env: dict, root: str, variants: Iterator[int],
                 log_dir: pathlib.Path) -> dict:
    """Round i starts each client afresh, in the order rotated by i, and gives it one job: medians of its wall
    time over the rounds whose answer passed its check. One first job alone moves by tens of percent."""
    walls: dict[str, list[float]] = {name: [] for name in clients}
    failed = 0
    for index in range(repeats):
        for name in clients[index % len(clients):] + clients[:index % len(clients)]:
            variant = next(variants)
            job = build_job("small", variant, f"bench_{variant:08d}")
            job["job_id"] = f"bench-cold-{name}-{index}"
            client = ClientProcess(name, env, root, log_dir)
            try:
                answer = client.ask(job)
            finally:
                client.close()
            if answer["problems"]:
                failed += 1
            else:
                walls[name].append(answer["wall_s"])
    return {"processes": repeats, "failed": failed,
            **{f"{name}_wall_s_median": round(statistics.median(values), 5) if values else None
               for name, values in walls.items()}}
