"""The worker's log read back: one JSON object a line (the SDK's keys: requestId, message, level; and logger)."""

from __future__ import annotations

import json


def log_lines(text: str) -> list[dict]:
    """Every JSON line of `text`; other lines (the SDK's start banner, a traceback of a crash) are left out."""
    lines = []
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "message" in parsed:
            lines.append(parsed)
    return lines
