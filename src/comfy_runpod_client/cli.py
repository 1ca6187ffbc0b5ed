"""Command line: `run WORKFLOW [--image FILE ...] (--endpoint ID | --url URL) [--out DIR]`."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import pathlib
import sys
from typing import Optional, Sequence

from .outputs import save_outputs
from .progress import ProgressBar
from .transport import LocalApi, RunpodEndpoint

log = logging.getLogger("comfy_runpod_client")
DEFAULT_API_BASE = "https://api.runpod.ai/v2"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comfy_runpod_client", description="Run a ComfyUI workflow on the worker.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="submit a workflow, follow it, save its outputs")
    run.add_argument("workflow", type=pathlib.Path, help='API-format workflow JSON, or a {"input": {...}} request')
    run.add_argument("--image", action="append", default=[], type=pathlib.Path, help="input image (repeatable)")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="RunPod endpoint id (the API key comes from RUNPOD_API_KEY)")
    target.add_argument("--url", help="the worker's local API, e.g. http://127.0.0.1:8000")
    run.add_argument("--api-base", default=os.environ.get("RUNPOD_API_BASE", DEFAULT_API_BASE), help=argparse.SUPPRESS)
    run.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"), help="folder for outputs (default: out)")
    run.add_argument("--poll-interval", type=float, default=1.0, help="seconds between /status polls")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def job_input(workflow_file: pathlib.Path, images: Sequence[pathlib.Path]) -> dict:
    """The request's `input`: the workflow (bare or wrapped in {"input": ...}) plus the given images."""
    loaded = json.loads(workflow_file.read_text())
    request = dict(loaded["input"]) if isinstance(loaded, dict) and "input" in loaded else {"workflow": loaded}
    if images:
        request["images"] = list(request.get("images", [])) + [
            {"name": image.name, "image": base64.b64encode(image.read_bytes()).decode("ascii")} for image in images
        ]
    return request


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    if args.endpoint:
        api_key = os.environ.get("RUNPOD_API_KEY", "")
        if not api_key:
            log.error("RUNPOD_API_KEY is not set")
            return 2
        target: RunpodEndpoint | LocalApi = RunpodEndpoint(
            args.api_base, args.endpoint, api_key, poll_interval_s=args.poll_interval
        )
    else:
        target = LocalApi(args.url)
    bar = ProgressBar(enabled=not args.no_progress)
    try:
        answer = target.run(job_input(args.workflow, args.image), bar)
    except KeyboardInterrupt:
        bar.close()
        cancelled = target.cancel()
        log.warning(
            "interrupted: %s", f"cancel sent, status {cancelled.get('status')}" if cancelled else "nothing to cancel"
        )
        return 130
    bar.close()
    return report(answer, args.out)


def report(answer: dict, folder: pathlib.Path) -> int:
    status = answer.get("status")
    if status != "COMPLETED":
        log.error("job %s %s: %s", answer.get("id"), status, answer.get("error", "no error message"))
        return 1
    summary = save_outputs(answer, folder)
    for item in summary["files"]:
        log.info("%-8s node %-4s %8d bytes  %s", item["key"], item["node_id"], item["bytes"], folder / item["path"])
    for error in summary["errors"]:
        log.warning("output error: %s", error)
    log.info(
        "job %s: %d file(s), %d error(s); summary in %s",
        answer.get("id"),
        len(summary["files"]),
        len(summary["errors"]),
        folder / "summary.json",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
