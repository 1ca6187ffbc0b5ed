"""`python -m bench.hostile [--quick]`: what hostile text costs, timed (the tests count calls instead).

- the event loop's lag while the worker answers a 10 MB caller string in fields it refuses itself, and while the
  ComfyUI adapter sends a 30 MB `class_type` and reads ComfyUI's refusal repeating it (work in another thread,
  which must release the interpreter often: a call over the whole text would hold the loop);
- the log redactor's time on texts that made older patterns backtrack, at 1,000 and 8,000 characters (linear:
  about 8x) and on a 10 MB line (cut first).

Writes `hostile.json` and `hostile.md` beside the other results.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from bench.run import ROOT, machine

PROBE_S = 0.005
WORKFLOW = {"1": {"class_type": "x", "inputs": {}}}
# fields the worker refuses before it calls ComfyUI: no ComfyUI is needed
FIELDS: dict[str, Callable[[str], Any]] = {
    "output_format.format": lambda s: {"workflow": WORKFLOW, "output_format": {"format": s}},
    "images[0].name": lambda s: {"workflow": WORKFLOW, "images": [{"name": s, "image": "AA=="}]},
    "workflow as a non-JSON string": lambda s: {"workflow": "{" + s},
    "input as a non-JSON string": lambda s: "{" + s,
    "comfy_org_api_key": lambda s: {"workflow": WORKFLOW, "comfy_org_api_key": s},
}
HOSTILE_LINES: dict[str, Callable[[int], str]] = {
    "a- run": lambda n: ("a-" * n)[:n],
    "api_key and dashes": lambda n: "api_key" + "-" * (n - 7),
    "quoted token, never closed": lambda n: "'token': '" + "x" * (n - 10),
    "keyword, colon, quote": lambda n: ("token: '" * n)[:n],
    "URL authority without @": lambda n: "https://" + "u" * (n - 8),
    "almost base64": lambda n: (("A" * 119 + " ") * n)[:n],
}


async def _lag_while(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """`work()` awaited (a coroutine function) while a coroutine sleeping PROBE_S at a time notes how late it woke."""
    worst, stop = 0.0, asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            worst = max(worst, time.perf_counter() - before - PROBE_S)

    probing = asyncio.ensure_future(probe())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    result = await work()
    elapsed = time.perf_counter() - started
    stop.set()
    await probing
    return result, elapsed, worst


def handler_lag(length: int, repeats: int) -> list[dict]:
    from entrypoints.container import build_container
    from entrypoints.runpod_handler import make_handler

    handler = make_handler(build_container({"COMFY_HOST": "127.0.0.1:9", "COMFY_API_AVAILABLE_MAX_RETRIES": "1"}))
    text = ("a-" * (length // 2 + 1))[:length]
    rows = []
    def answering(make: Callable[[str], Any]) -> Callable[[], Any]:
        return lambda: handler({"id": "bench", "input": make(text)})

    for field, make in FIELDS.items():
        runs = [asyncio.run(_lag_while(answering(make))) for _ in range(repeats)]
        rows.append({"case": f"worker answers a {length:,}-character {field}",
                     "answer": runs[0][0].get("error_code"), **_lag_figures(runs)})
    return rows


def adapter_lag(length: int, repeats: int) -> dict:
    from adapters.comfy_http_api import ComfyHttpApi
    from domain.budget import Budget
    from domain.errors import WorkerError
    from domain.model import Prompt

    text = ("a-" * (length // 2 + 1))[:length]
    refusal = json.dumps({"error": {"type": "invalid_prompt", "message": f"Cannot execute because node {text} "
                          "does not exist.", "details": "", "extra_info": {}}, "node_errors": {}}).encode()

    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(400)
            self.send_header("Content-Length", str(len(refusal)))
            self.end_headers()
            self.wfile.write(refusal)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = ComfyHttpApi(f"http://127.0.0.1:{server.server_address[1]}")
    prompt = Prompt(id="p", client_id="c", workflow={"1": {"class_type": text, "inputs": {}}})

    def send() -> str:
        try:
            api.queue_prompt(prompt, Budget())
        except WorkerError as exc:
            return exc.code
        return "queued"

    try:
        runs = [asyncio.run(_lag_while(lambda: asyncio.to_thread(send))) for _ in range(repeats)]
    finally:
        server.shutdown()
        server.server_close()
    return {"case": f"ComfyUI adapter sends a {length:,}-character class_type and reads the refusal",
            "answer": runs[0][0], **_lag_figures(runs)}


def _lag_figures(runs: list[tuple[Any, float, float]]) -> dict:
    return {"runs": len(runs), "elapsed_ms_median": round(statistics.median(r[1] for r in runs) * 1000, 1),
            "loop_lag_ms_median": round(statistics.median(r[2] for r in runs) * 1000, 1),
            "loop_lag_ms_max": round(max(r[2] for r in runs) * 1000, 1)}


def redaction(huge: int, repeats: int) -> list[dict]:
    from entrypoints.job_logging import Redactor

    redact = Redactor(["env-secret-value"])

    def best(text: str) -> float:
        return min(_timed(redact, text) for _ in range(repeats))

    rows = []
    for name, make in HOSTILE_LINES.items():
        small, large = best(make(1000)), best(make(8000))
        rows.append({"text": name, "ms_1000": round(small * 1000, 3), "ms_8000": round(large * 1000, 3),
                     "ratio": round(large / small, 1), "ms_huge_line": round(best(make(huge)) * 1000, 3)})
    return rows


def _timed(function: Callable[[str], Any], text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


def render(report: dict) -> str:
    lines = [f"Hostile text on {report['machine']}, {report['date']}.", "",
             "| case | answer | runs | elapsed median ms | loop lag median ms | loop lag max ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['case']} | {r['answer']} | {r['runs']} | {r['elapsed_ms_median']} | {r['loop_lag_ms_median']} "
              f"| {r['loop_lag_ms_max']} |" for r in report["loop"]]
    lines += ["", f"| redacted text | 1,000 chars ms | 8,000 chars ms | ratio (linear: ~8) | "
              f"{report['huge_line']:,}-char line ms |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['text']} | {r['ms_1000']} | {r['ms_8000']} | {r['ratio']} | {r['ms_huge_line']} |"
              for r in report["redaction"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB texts, fewer runs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for hostile.json / .md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # this tree's worker, whatever the environment has installed
    logging.getLogger("entrypoints").setLevel(logging.ERROR)  # each refused input's warning
    huge, repeats = (1_000_000, 2) if args.quick else (10_000_000, 5)
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "huge_line": huge,
              "loop": [*handler_lag(huge, repeats), adapter_lag(huge, repeats), adapter_lag(3 * huge, repeats)],
              "redaction": redaction(huge, repeats)}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostile.json").write_text(json.dumps(report, indent=2) + "\n")
    table = render(report)
    (out / "hostile.md").write_text(table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
