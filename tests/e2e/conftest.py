"""Starts the worker as a user runs it: `python -m entrypoints.runpod_handler --rp_serve_api`."""
import os
import pathlib
import subprocess
import sys
import time

import pytest
import requests

from loopback import free_port
from processes import end_process_group

ROOT = pathlib.Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, env: dict, *extra_args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"worker-{self.port}.log"
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "OUTPUT_SINK", "COMFY_"))}
        full_env = {**clean_env, "PYTHONPATH": str(ROOT / "src"), **env}
        args = [sys.executable, "-m", "entrypoints.runpod_handler", *extra_args]
        if not extra_args:
            args += ["--rp_serve_api", "--rp_api_host", "127.0.0.1", "--rp_api_port", str(self.port)]
        self.log = open(self.log_path, "w")  # noqa: SIM115 (a log the process writes until stop(), which closes it)
        self.process = subprocess.Popen(args, env=full_env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_until_serving(self, timeout_s: float = 60.0) -> None:
        give_up = time.monotonic() + timeout_s
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/docs", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"worker did not serve within {timeout_s} s:\n{self.output()}")

    def runsync(self, job_input: dict) -> dict:
        response = requests.post(self.url + "/runsync", json={"input": job_input}, timeout=120)
        response.raise_for_status()
        return response.json()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        end_process_group(self.process, grace_s=10)
        self.log.close()
        self.log_path.unlink(missing_ok=True)


@pytest.fixture
def start_worker():
    started = []

    def start(env: dict, *extra_args: str) -> WorkerProcess:
        worker = WorkerProcess(env, *extra_args)
        started.append(worker)
        if not extra_args:
            worker.wait_until_serving()
        return worker

    yield start
    for worker in started:
        worker.stop()
