"""Runs a sample job end to end through the worker's handler: `python -m entrypoints.sample_job test_input.json`.

It uses the ComfyUI at COMFY_HOST when one answers there, else starts the ComfyUI simulator
(`python -m comfyui_sim`, from the tests) for the purpose, and writes decoded outputs to --out.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
from typing import Optional

from adapters.comfy_http_api import ComfyHttpApi
from domain.errors import ComfyUnreachable
from entrypoints.container import build_container
from entrypoints.job_logging import configure_logging
from entrypoints.runpod_handler import make_handler
from entrypoints.settings import ConfigError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=pathlib.Path, help="a JSON file with {'input': {...}}")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"))
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    env = dict(os.environ)
    host = env.get("COMFY_HOST", "127.0.0.1:8188")
    simulator = None
    if not _answers(host):
        simulator, host = _start_simulator()
        print(f"No ComfyUI answers at {env.get('COMFY_HOST', '127.0.0.1:8188')}: using the ComfyUI simulator at {host}")
    else:
        print(f"Using the ComfyUI at {host}")
    env["COMFY_HOST"] = host
    try:
        handler = make_handler(build_container(env))
        job = json.loads(args.input.read_text())
        response = asyncio.run(handler({"id": "sample-job", "input": job.get("input")}))
    except ConfigError as exc:
        print(f"worker configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(timeout=10)
    return _report(response, args.out)


def _report(response: dict, out: pathlib.Path) -> int:
    if "error" in response:
        print(f"Job failed: {response['error']}")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    images = response.get("images", [])
    print(f"Job succeeded: {len(images)} output(s){' (' + response['status'] + ')' if 'status' in response else ''}")
    for image in images:
        if image["type"] == "base64":
            path = out / image["filename"]
            path.write_bytes(base64.b64decode(image["data"]))
            print(f"  node {image['node_id']}: {image['filename']} ({image['content_type']}) -> {path}")
        else:
            print(f"  node {image['node_id']}: {image['filename']} -> {image['data']}")
    for error in response.get("errors", []):
        print(f"  error: {error}")
    return 0


def _answers(host: str) -> bool:
    try:
        ComfyHttpApi(f"http://{host}", ready_max_retries=1).wait_until_ready()
    except ComfyUnreachable:
        return False
    return True


def _start_simulator() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tests_dir = pathlib.Path(__file__).resolve().parents[2] / "tests"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests_dir), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "comfyui_sim", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()
    if "listening" not in line:
        process.kill()
        raise SystemExit(f"the ComfyUI simulator did not start: {line!r}")
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, f"127.0.0.1:{port}"


if __name__ == "__main__":
    sys.exit(main())
