"""The peers of a run: ComfyUI (the simulator in its own process, or COMFY_HOST) and S3 (moto, or BUCKET_*)."""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from typing import ContextManager, Iterator, Optional

import requests

from bench.workflows import saved_under

BENCH_BUCKET = "bench-outputs"
ACCESS_KEY, SECRET_KEY = "bench-access-key", "bench-secret-key"
S3_VARIABLES = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")


@contextlib.contextmanager
def comfy(given_host: Optional[str], env: dict, root: str) -> Iterator[tuple[str, str]]:
    """(host, label): `given_host` (COMFY_HOST) when set, nothing simulated; else a fresh simulator process."""
    if given_host:
        host = given_host
        wait_reachable(host)
        yield host, host
        return
    with simulator(env, root) as sim:
        yield sim.host, "simulator"


class SimulatorProcess:
    """The parent's side of `bench.simulator_process`: its host, and its fault knobs set over stdin."""

    def __init__(self, env: dict, root: str) -> None:
        self._child = subprocess.Popen([sys.executable, "-m", "bench.simulator_process"], cwd=root, env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._child.stdin is not None and self._child.stdout is not None  # both are pipes
        self._stdin, self._stdout = self._child.stdin, self._child.stdout
        self.host: str = json.loads(self._stdout.readline())["host"]

    def set_faults(self, **knobs) -> None:
        self._stdin.write(json.dumps(knobs) + "\n")
        self._stdin.flush()
        if not self._stdout.readline():
            raise RuntimeError(f"the simulator refused {sorted(knobs)} (exit {self._child.wait()})")

    def close(self) -> None:
        self._stdin.close()
        try:
            self._child.wait(30)
        except subprocess.TimeoutExpired:
            self._child.kill()


@contextlib.contextmanager
def simulator(env: dict, root: str) -> Iterator[SimulatorProcess]:
    """A fresh simulator process, reachable, until the block ends."""
    sim = SimulatorProcess(env, root)
    try:
        wait_reachable(sim.host)
        yield sim
    finally:
        sim.close()


def wait_reachable(host: str, timeout_s: float = 60.0) -> None:
    give_up = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(f"http://{host}/system_stats", timeout=5).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.1)


def wait_idle(session: requests.Session, host: str, timeout_s: float = 300.0) -> None:
    """Until ComfyUI has nothing running or pending (`GET /queue`)."""
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        queue = session.get(f"http://{host}/queue", timeout=30).json()
        if not queue.get("queue_running") and not queue.get("queue_pending"):
            return
        time.sleep(0.05)
    raise TimeoutError(f"ComfyUI at {host} stayed busy for {timeout_s:.0f} s")


@contextlib.contextmanager
def s3(env: dict) -> Iterator[dict]:
    """The variables that put the worker in S3 mode: the given `BUCKET_*`, or a moto server on loopback."""
    if all(env.get(name) for name in S3_VARIABLES):
        yield {name: env[name] for name in S3_VARIABLES} | {
            "BUCKET_NAME": env.get("BUCKET_NAME") or time.strftime("%m-%y"), "OUTPUT_SINK": "s3"}
        return
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _create_bucket(endpoint)
        yield {"BUCKET_ENDPOINT_URL": endpoint, "BUCKET_ACCESS_KEY_ID": ACCESS_KEY,
               "BUCKET_SECRET_ACCESS_KEY": SECRET_KEY, "BUCKET_NAME": BENCH_BUCKET, "OUTPUT_SINK": "s3"}
    finally:
        server.stop()


def store(s3_wanted: bool, env: dict) -> ContextManager[dict]:
    """`s3(env)` when the outputs go to S3, else no variables (base64 outputs)."""
    return s3(env) if s3_wanted else contextlib.nullcontext({})


def _create_bucket(endpoint: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=BENCH_BUCKET)


def execution_seconds(session: requests.Session, host: str, prefixes: set[str]) -> Optional[float]:
    """ComfyUI's own time for the newest prompt that saved under `prefixes`, from its `/history` messages."""
    history = session.get(f"http://{host}/history", params={"max_items": 8}, timeout=30).json()
    for entry in reversed(list(history.values())):
        if saved_under(entry["prompt"][2]) & prefixes:
            # history[id].status.messages: [["execution_start", {timestamp ms}], ..., ["execution_success", {...}]]
            stamps = {kind: data.get("timestamp") for kind, data in entry["status"]["messages"]}
            if stamps.get("execution_start") is None or stamps.get("execution_success") is None:
                return None
            return (stamps["execution_success"] - stamps["execution_start"]) / 1000.0
    return None
