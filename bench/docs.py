"""Fills the results blocks of docs/performance.md (client comparison, stream) from a `latest.json`."""
from __future__ import annotations

import json
import pathlib

from bench.report import render, render_stream

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
STREAM_START, STREAM_END = "<!-- bench:stream:start -->", "<!-- bench:stream:end -->"


def fill(text: str, start: str, end: str, table: str, page_name: str) -> str:
    head, found, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found or not found_end:
        raise SystemExit(f"{page_name} has no {start} ... {end} block to fill")
    return f"{head}{start}\n{table}{end}{tail}"


def write_docs(latest: pathlib.Path, page: pathlib.Path) -> None:
    report = json.loads(latest.read_text())
    text = page.read_text()
    if "results" in report:
        text = fill(text, START, END, render(report), page.name)
    if "stream" in report:
        text = fill(text, STREAM_START, STREAM_END, render_stream(report["stream"]), page.name)
    page.write_text(text)
