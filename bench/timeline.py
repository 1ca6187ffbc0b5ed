"""ComfyUI's busy/idle timeline of each stream run as an SVG, written by hand (no plotting dependency)."""
from __future__ import annotations

import math
import pathlib
from typing import Any
from xml.sax.saxutils import escape

LABEL_W, PLOT_W, ROW_H, BAR_H, TOP, BOTTOM = 230, 840, 34, 20, 40, 40
BUSY, IDLE, INK = "#2b6cb0", "#fbd38d", "#1a202c"


def timeline_svg(stream: dict[str, Any]) -> str:
    """One row per run (stream x MAX_CONCURRENCY): prompts executing in blue, ComfyUI idle in orange."""
    runs = [r for r in stream["runs"] if r["timeline"]]
    longest = max((r["timeline"][-1][1] for r in runs), default=1.0) or 1.0
    scale = PLOT_W / longest
    height = TOP + ROW_H * len(runs) + BOTTOM
    width = LABEL_W + PLOT_W + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{LABEL_W}" y="18" fill="{INK}">ComfyUI busy (blue) and idle (orange) from the first '
             f'prompt\'s start, {escape(stream["mode"])} run of {escape(stream["date"])}</text>']
    for row, run in enumerate(runs):
        y = TOP + row * ROW_H
        span = run["timeline"][-1][1]
        parts.append(f'<text x="4" y="{y + BAR_H - 5}" fill="{INK}">{escape(run["stream"])} '
                     f'({escape(run["sink"])}), MAX_CONCURRENCY {run["concurrency"]}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{span * scale:.2f}" height="{BAR_H}" fill="{IDLE}"/>')
        for start, end in run["timeline"]:
            parts.append(f'<rect x="{LABEL_W + start * scale:.2f}" y="{y}" '
                         f'width="{max(0.5, (end - start) * scale):.2f}" height="{BAR_H}" fill="{BUSY}"/>')
    axis_y = TOP + ROW_H * len(runs)
    step = _tick_step(longest)
    parts.append(f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + PLOT_W}" y2="{axis_y}" stroke="{INK}"/>')
    for tick in range(0, int(longest // step) + 1):
        x = LABEL_W + tick * step * scale
        parts.append(f'<line x1="{x:.2f}" y1="{axis_y}" x2="{x:.2f}" y2="{axis_y + 5}" stroke="{INK}"/>')
        parts.append(f'<text x="{x:.2f}" y="{axis_y + 18}" text-anchor="middle" fill="{INK}">'
                     f'{tick * step:g} s</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _tick_step(longest: float) -> float:
    raw = longest / 10
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def write_timeline(stream: dict[str, Any], path: pathlib.Path) -> None:
    path.write_text(timeline_svg(stream))
