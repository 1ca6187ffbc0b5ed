"""Runs the worker as RunPod does (no flags: the production job loop) against a RunpodStandIn."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

from processes import end_process_group

from .server import RunpodStandIn

ROOT = pathlib.Path(__file__).resolve().parents[2]
_INHERITED_PREFIXES = ("BUCKET_", "OUTPUT_SINK", "COMFY_", "RUNPOD_", "REFRESH_WORKER", "JOB_TIMEOUT_S")


class ProductionWorker:
    """`python -m entrypoints.runpod_handler` with RunPod's variables pointing at the stand-in."""

    def __init__(self, standin: RunpodStandIn, env: dict, pod_id: str = "standin-worker-1",
                 module: str = "entrypoints.runpod_handler") -> None:
        self.pod_id = pod_id
        clean = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
        # the worker sees src only; a stand-in's own worker (echo_worker) is found under tests
        paths = [ROOT / "src"] if module.startswith("entrypoints.") else [ROOT / "src", ROOT / "tests"]
        full_env = {**clean, "PYTHONPATH": os.pathsep.join(map(str, paths)), **standin.worker_env(pod_id), **env}
        self._log = tempfile.NamedTemporaryFile("w+", prefix="production-worker-", suffix=".log", delete=False)  # noqa: SIM115 (a log the process writes until stop(), which closes it)
        # a group of its own: the SDK's heartbeat is a forked child that outlives a SIGTERM to the worker alone
        self.process = subprocess.Popen([sys.executable, "-m", module], env=full_env,
                                        cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        self._log.flush()
        return pathlib.Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        end_process_group(self.process)
        self._log.close()
        pathlib.Path(self._log.name).unlink(missing_ok=True)
