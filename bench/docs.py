"""Fills the results block of docs/performance.md from a `latest.json`."""
from __future__ import annotations

import json
import pathlib

from bench.report import render

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def write_docs(latest: pathlib.Path, page: pathlib.Path) -> None:
    text = page.read_text()
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{page.name} has no {START} ... {END} block to fill")
    table = render(json.loads(latest.read_text()))
    page.write_text(f"{head}{START}\n{table}{END}{tail}")
