"""Start-up cost in fresh processes: importing the entry module and building the container, against `import runpod`."""
from __future__ import annotations

import statistics
import subprocess
import sys

# What the entry does before it can take a job: import itself, build the container and its job runner, import
# the SDK (main() imports runpod after setting up logging, so it is timed here too).
WORKER = ("import time; t = time.perf_counter(); "
          "from entrypoints.runpod_handler import build_container; "
          "build_container({'COMFY_HOST': '127.0.0.1:8188'}).job_runner(); import runpod; "
          "print(time.perf_counter() - t)")
RUNPOD = "import time; t = time.perf_counter(); import runpod; print(time.perf_counter() - t)"


def measure_startup(repeats: int, env: dict, root: str) -> dict:
    """Medians over `repeats` alternating fresh processes of each kind."""
    worker, runpod = [], []
    for _ in range(repeats):
        worker.append(_seconds(WORKER, env, root))
        runpod.append(_seconds(RUNPOD, env, root))
    return {"worker_s_median": round(statistics.median(worker), 4),
            "import_runpod_s_median": round(statistics.median(runpod), 4)}


def _seconds(code: str, env: dict, root: str) -> float:
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"start-up probe failed: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])
