"""Runs a sample job end to end through the worker: `python -m sample_job test_input.json`.

A development tool (the worker's own packages never import it): it uses the ComfyUI at COMFY_HOST when one answers
there, else runs the project's ComfyUI simulator in the same process, and writes decoded outputs to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import pathlib
import re
import sys
from typing import Iterator, Optional

from adapters.comfy_http_api import ComfyHttpApi
from comfy_runpod_client.outputs import is_entry_list
from comfyui_sim.simulator import ComfySimulator
from domain.budget import Budget
from domain.errors import ComfyUnreachable
from entrypoints.container import build_container
from entrypoints.job_logging import configure_logging, job_log_context
from entrypoints.settings import ConfigError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_DATA_CHARS = 4000


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("input", type=pathlib.Path, help="a JSON file with {'input': {...}}")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"))
    args = parser.parse_args(argv)
    configure_logging((os.environ.get("LOG_LEVEL") or "").strip().upper() or "WARNING")
    # a failed job is reported below, whole: its log line would say it twice
    logging.getLogger("entrypoints.job_runner").addFilter(
        lambda record: not record.getMessage().startswith("job failed")
    )
    env = dict(os.environ)
    wanted = env.get("COMFY_HOST", "").strip() or "127.0.0.1:8188"  # empty is unset, as for the worker
    job = json.loads(args.input.read_text())
    with _comfy_at(wanted) as host:
        env["COMFY_HOST"] = host
        try:
            runner = build_container(env).job_runner()
        except ConfigError as exc:
            print(f"worker configuration error: {exc}", file=sys.stderr)
            return 2
        sample = {"id": "sample-job", "input": job.get("input")}
        with job_log_context(sample):
            answered = asyncio.run(runner.run(sample))
    return _report(answered.answer, args.out)


@contextlib.contextmanager
def _comfy_at(host: str) -> Iterator[str]:
    """The ComfyUI at `host` if it answers, else a simulator in this process for the duration."""
    if _answers(host):
        print(f"Using the ComfyUI at {host}")
        yield host
        return
    with ComfySimulator(port=0) as sim:
        print(f"No ComfyUI answers at {host}: using the ComfyUI simulator at {sim.host}")
        yield sim.host


def _report(response: dict, out: pathlib.Path) -> int:
    if "error" in response:
        _report_failure(response)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    files = [e for key, entries in response.items() if key != "text" and is_entry_list(entries) for e in entries]
    status = f" ({response['status']})" if "status" in response else ""
    print(f"Job succeeded: {len(files)} output(s){status}")
    for entry in files:
        if entry["type"] == "base64":
            path = out / local_name(entry.get("subfolder") or "", entry["filename"])
            path.write_bytes(base64.b64decode(entry["data"]))
            print(f"  node {entry['node_id']}: {entry['filename']} ({entry['content_type']}) -> {path}")
        else:
            print(f"  node {entry['node_id']}: {entry['filename']} -> {entry['data']}")
    for text in response.get("text", []):
        print(f"  node {text['node_id']} text: {text['data'][:200]}")
    for error in response.get("errors", []):
        print(f"  error: {error}")
    return 0


def _report_failure(response: dict) -> None:
    """The whole error, which RunPod, the SDK's local API and --test_input reduce to its `error` line."""
    print(f"Job failed: {response['error']}")
    print(f"  error_code: {response.get('error_code')}")
    for detail in response.get("details") or []:
        print(f"  detail: {detail}")
    if response.get("data"):
        data = json.dumps(response["data"], indent=2)
        print("  data: " + (data if len(data) <= _MAX_DATA_CHARS else f"{data[:_MAX_DATA_CHARS]}... (cut)"))


def local_name(subfolder: str, filename: str) -> str:
    """A file name safe to write in one folder; the subfolder becomes a prefix so same names stay apart."""
    parts = [p for p in re.split(r"[\\/]+", f"{subfolder}/{filename}") if p not in ("", ".", "..")]
    name = "__".join(_UNSAFE.sub("_", p).lstrip(".") for p in parts)
    return name or "output"


def _answers(host: str) -> bool:
    try:
        ComfyHttpApi(f"http://{host}", ready_max_retries=1).wait_until_ready(Budget())
    except ComfyUnreachable:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
