"""Command line: `run (WORKFLOW [--image FILE ...] [--model URL:FOLDER ...] | --resume JOB_ID) (--endpoint ID | --url URL)
[--out DIR]`."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import pathlib
import sys
from typing import Optional, Sequence

from .api_calls import ApiError
from .outputs import DEFAULT_MAX_DOWNLOAD_BYTES, OutputWriter
from .progress import ProgressBar
from .transport import LocalApi, RunpodEndpoint

log = logging.getLogger("comfy_runpod_client")
# the RunPod SDK's variable and default (runpod/__init__.py: endpoint_url_base)
BASE_URL_VARIABLE = "RUNPOD_ENDPOINT_BASE_URL"
DEFAULT_API_BASE = "https://api.runpod.ai/v2"
EXIT_FAILED, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED = 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comfy_runpod_client", description="Run a ComfyUI workflow on the worker.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="submit a workflow (or resume a job), follow it, save its outputs")
    run.add_argument(
        "workflow",
        type=pathlib.Path,
        nargs="?",
        help='a workflow as ComfyUI\'s editor saves it or its API export, or a {"input": {...}} request',
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NODE.INPUT=VALUE",
        help="set a node's input (the node by its exact title or id; VALUE is JSON, else text); repeatable",
    )
    run.add_argument("--image", action="append", default=[], type=pathlib.Path, help="input image (repeatable)")
    run.add_argument(
        "--model",
        action="append",
        default=[],
        type=model_item,
        metavar="URL:FOLDER",
        help="a model file the worker downloads into a ComfyUI model folder first, e.g. "
        "https://host/x.safetensors:loras (repeatable; the worker needs MODEL_DOWNLOAD_DIR)",
    )
    run.add_argument("--resume", metavar="JOB_ID", help="follow a job submitted before instead of a new one")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="RunPod endpoint id (the API key comes from RUNPOD_API_KEY)")
    target.add_argument("--url", help="the worker's local API, e.g. http://127.0.0.1:8000")
    run.add_argument(
        "--api-base",
        default=os.environ.get(BASE_URL_VARIABLE) or DEFAULT_API_BASE,
        help=f"default: ${BASE_URL_VARIABLE}",
    )
    run.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"), help="folder for outputs (default: out)")
    run.add_argument("--poll-interval", type=float, default=1.0, help="seconds between /status polls")
    run.add_argument("--http-timeout", type=float, default=30.0, help="seconds each API call may take (default 30)")
    run.add_argument("--retries", type=int, default=5, help="retries of a failed API call, with backoff (default 5)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--max-download-bytes",
        type=int,
        default=DEFAULT_MAX_DOWNLOAD_BYTES,
        help=f"largest s3_url output downloaded (default {DEFAULT_MAX_DOWNLOAD_BYTES:,}); a larger one is not saved",
    )
    return parser


def model_item(value: str) -> dict:
    """`URL:FOLDER` as an `input.models` item: the folder is what follows the last ':' (a URL's own colons come
    before it)."""
    url, sep, folder = value.rpartition(":")
    if not sep or not url.lower().startswith(("http://", "https://")) or not folder or "/" in folder:
        raise argparse.ArgumentTypeError(f"{value!r} is not URL:FOLDER (e.g. https://host/x.safetensors:loras)")
    return {"url": url, "folder": folder}


def job_input(
    workflow_file: pathlib.Path,
    images: Sequence[pathlib.Path],
    overrides: Sequence[str] = (),
    models: Sequence[dict] = (),
) -> dict:
    """The request's `input`: the workflow (bare or wrapped in {"input": ...}), the given images, overrides and
    models."""
    loaded = json.loads(workflow_file.read_text())
    request = dict(loaded["input"]) if isinstance(loaded, dict) and "input" in loaded else {"workflow": loaded}
    if images:
        request["images"] = list(request.get("images", [])) + [
            {"name": image.name, "image": base64.b64encode(image.read_bytes()).decode("ascii")} for image in images
        ]
    if overrides:
        merged: dict = {node: dict(values) for node, values in request.get("overrides", {}).items()}
        for node, name, value in map(parse_override, overrides):
            merged.setdefault(node, {})[name] = value
        request["overrides"] = merged
    if models:
        request["models"] = list(request.get("models", [])) + list(models)
    return request


def parse_override(text: str) -> tuple[str, str, object]:
    """`KSampler.seed=42` → ("KSampler", "seed", 42); a title may hold dots (the input is after the last one
    before `=`); a value that is not JSON is text (`CLIP Text Encode.text=a cat`)."""
    target, sep, raw = text.partition("=")
    node, dot, name = target.rpartition(".")
    if not sep or not dot or not node or not name:
        raise ValueError(f"--set {text!r}: write NODE.INPUT=VALUE (the node by its title or id)")
    try:
        value: object = json.loads(raw)
    except ValueError:
        value = raw
    return node, name, value


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.workflow is None) == (args.resume is None):
        parser.error("give a workflow file or --resume JOB_ID (one of them)")
    if args.resume and not args.endpoint:
        parser.error("--resume follows a job of a RunPod endpoint: give --endpoint")
    for override in args.overrides:
        try:
            parse_override(override)
        except ValueError as exc:
            parser.error(str(exc))
    if args.endpoint:
        api_key = os.environ.get("RUNPOD_API_KEY", "")
        if not api_key:
            log.error("RUNPOD_API_KEY is not set")
            return EXIT_USAGE
        target: RunpodEndpoint | LocalApi = RunpodEndpoint(
            args.api_base,
            args.endpoint,
            api_key,
            poll_interval_s=args.poll_interval,
            timeout_s=args.http_timeout,
            retries=args.retries,
        )
    else:
        target = LocalApi(args.url)
    bar = ProgressBar(enabled=not args.no_progress)
    writer = OutputWriter(args.out, max_download_bytes=args.max_download_bytes)
    try:
        if args.resume:
            assert isinstance(target, RunpodEndpoint)
            answer = target.follow(args.resume, bar, on_status=bar.status, on_stream_item=writer.add)
        else:
            answer = target.run(
                job_input(args.workflow, args.image, args.overrides, args.model),
                bar,
                on_status=bar.status,
                on_stream_item=writer.add,
            )
    except KeyboardInterrupt:
        bar.close()
        return interrupted(target)
    except ApiError as problem:
        bar.close()
        log.error("%s", api_failure_line(target.job_id, problem))
        return EXIT_API
    bar.close()
    return report(answer, writer)


def api_failure_line(job_id: Optional[str], problem: ApiError) -> str:
    """One line: the job (or that none was queued), what failed, and how to pick the job up again."""
    if job_id is None:
        return f"error: no job queued: {problem}"
    return f"error: job {job_id}: {problem}; follow it again with --resume {job_id}"


def interrupted(target: RunpodEndpoint | LocalApi) -> int:
    """Ctrl-C: asks whether to cancel the job on the endpoint (Enter or end of input: yes)."""
    job_id = target.job_id
    if job_id is None or isinstance(target, LocalApi):
        log.warning("interrupted: nothing to cancel")
        return EXIT_INTERRUPTED
    print(f"\ninterrupted: cancel job {job_id} on the endpoint? [Y/n] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip().lower()
    except KeyboardInterrupt:
        answer = "n"
    if answer not in ("", "y", "yes"):
        log.warning("job %s keeps running; follow it again with --resume %s", job_id, job_id)
        return EXIT_INTERRUPTED
    try:
        cancelled = target.cancel() or {}
    except ApiError as problem:
        log.error("%s", api_failure_line(job_id, problem))
        return EXIT_INTERRUPTED
    log.warning("interrupted: job %s: cancel sent, status %s", job_id, cancelled.get("status"))
    return EXIT_INTERRUPTED


def streamed_failure(answer: dict) -> Optional[str]:
    """The error line of a failed streaming job that the worker's local API answers COMPLETED (the SDK's local
    /runsync lists a generator's items, the last one the job's error; RunPod itself answers such a job FAILED)."""
    output = answer.get("output")
    if answer.get("status") != "COMPLETED" or not isinstance(output, list):
        return None
    errors = [item["error"] for item in output if isinstance(item, dict) and isinstance(item.get("error"), str)]
    return errors[-1] if errors else None


def report(answer: dict, writer: OutputWriter) -> int:
    failure = streamed_failure(answer)
    if failure is not None:
        answer = {**answer, "status": "FAILED", "error": failure}
    status = answer.get("status")
    if status != "COMPLETED":
        log.error("job %s %s: %s", answer.get("id"), status, answer.get("error", "no error message"))
        if writer.files:
            writer.finish(answer)
        return EXIT_FAILED
    if not isinstance(answer.get("output"), list):  # a list: a streamed job's items, each handed to the writer
        writer.add(answer.get("output") or {})
    summary = writer.finish(answer)
    folder = writer.folder
    for item in summary["files"]:
        log.info("%-8s node %-4s %8d bytes  %s", item["key"], item["node_id"], item["bytes"], folder / item["path"])
    for error in summary["errors"]:
        log.warning("output error: %s", error)
    for failed in summary["failed"]:
        log.error(
            "%s/%s (node %s) not saved: %s", failed["key"], failed["filename"], failed["node_id"], failed["error"]
        )
    log.info(
        "job %s: %d file(s), %d error(s); summary in %s",
        answer.get("id"),
        len(summary["files"]),
        len(summary["errors"]),
        folder / "summary.json",
    )
    return EXIT_FAILED if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
