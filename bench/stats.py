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
            "cpu_s_median": _round(_median([r["cpu_s"] for r in warm])),
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


ROUND_RATIOS = (("wall worker/floor", "wall_s", "worker", "floor"),
                ("overhead worker/floor", "overhead_s", "worker", "floor"),
                ("overhead polling/worker", "overhead_s", "polling", "worker"))


def spreads(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ratio taken round by round (job i of every client, warm rounds only): how much it moves.

    The headline ratios are ratios of medians; these per-round ratios show whether a run had enough rounds."""
    rounds: dict[tuple, dict[str, dict]] = {}
    for record in records:
        if record["index"] > 0 and not record["problems"] and record["overhead_s"] is not None:
            rounds.setdefault((record["scenario"], record["sink"], record["index"]), {})[record["client"]] = record
    found = []
    for scenario, sink in dict.fromkeys((key[0], key[1]) for key in rounds):
        for name, field, top, bottom in ROUND_RATIOS:
            values = sorted(r[top][field] / r[bottom][field] for (s, k, _), r in rounds.items()
                            if (s, k) == (scenario, sink) and top in r and bottom in r and r[bottom][field] > 0)
            if values:
                q1, q3 = _quartiles(values)
                found.append({"scenario": scenario, "sink": sink, "ratio": name, "rounds": len(values),
                              "median": _round(statistics.median(values)), "q1": _round(q1), "q3": _round(q3),
                              "min": _round(values[0]), "max": _round(values[-1])})
    return found


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3
