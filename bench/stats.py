"""Per-job measurements into the figures of `latest.json`: medians and p90 with `statistics`."""
from __future__ import annotations

import statistics
from typing import Any, Optional


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (scenario, sink, client); each process's first (cold) job is left out of the medians."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault((record["scenario"], record["sink"], record["client"]), []).append(record)
    results = []
    for (scenario, sink, client), group in groups.items():
        good = [r for r in group if not r["problems"] and r["overhead_s"] is not None]
        warm = [r for r in good if r["index"] > 0] or good
        results.append({
            "scenario": scenario, "sink": sink, "client": client, "n": len(warm),
            "wall_s_median": _round(_median([r["wall_s"] for r in warm])),
            "overhead_s_median": _round(_median([r["overhead_s"] for r in warm])),
            "overhead_s_p90": _round(p90([r["overhead_s"] for r in warm]) if warm else None),
            "peak_rss_delta_mb": round(max(r["peak_rss_delta_mb"] for r in good), 1) if good else None,
        })
    return results


def cold_jobs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first job of each fresh client process."""
    return [{"scenario": r["scenario"], "sink": r["sink"], "client": r["client"],
             "wall_s": _round(r["wall_s"]), "overhead_s": _round(r["overhead_s"])}
            for r in records if r["index"] == 0 and not r["problems"]]


def _median(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 5)
