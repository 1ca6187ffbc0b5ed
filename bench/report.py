"""`latest.json` as markdown: the figures, the ratios worker/floor and polling/worker, and the issue's targets."""
from __future__ import annotations

from typing import Any, Optional


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _fmt(value: Optional[float], digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _by_key(report: dict[str, Any]) -> dict[tuple, dict]:
    return {(r["scenario"], r["sink"], r["client"]): r for r in report["results"]}


def _cold(report: dict[str, Any]) -> dict[tuple, dict]:
    return {(c["scenario"], c["sink"], c["client"]): c for c in report.get("cold", [])}


def targets(report: dict[str, Any]) -> list[tuple[str, Optional[float], str, Optional[bool]]]:
    """(target, measured ratio, bound, met) for each goal of the issue that this run can judge."""
    res, cold, start = _by_key(report), _cold(report), report.get("startup") or {}

    def get(table, key, field):
        return (table.get(key) or {}).get(field)

    rows = []

    def add(name: str, value: Optional[float], bound: float, at_most: bool = True) -> None:
        met = None if value is None else (value <= bound if at_most else value >= bound)
        rows.append((name, value, f"{'≤' if at_most else '≥'} {bound:.3g}", met))

    small = ("small", "base64")
    add("small base64: overhead worker/floor", ratio(get(res, (*small, "worker"), "overhead_s_median"),
                                                     get(res, (*small, "floor"), "overhead_s_median")), 1.10)
    add("small base64: wall worker/floor", ratio(get(res, (*small, "worker"), "wall_s_median"),
                                                 get(res, (*small, "floor"), "wall_s_median")), 1.05)
    fresh = report.get("cold_fresh") or {}
    cold_ratio = (ratio(fresh.get("worker_wall_s_median"), fresh.get("floor_wall_s_median")) if fresh else
                  ratio(get(cold, (*small, "worker"), "wall_s"), get(cold, (*small, "floor"), "wall_s")))
    add("small base64: first job (cold) wall worker/floor", cold_ratio, 1.5)
    add("small base64: overhead polling/worker", ratio(get(res, (*small, "polling"), "overhead_s_median"),
                                                       get(res, (*small, "worker"), "overhead_s_median")), 20, False)
    for sink in ("base64", "s3"):
        add(f"big4 {sink}: overhead worker/floor", ratio(get(res, ("big4", sink, "worker"), "overhead_s_median"),
                                                         get(res, ("big4", sink, "floor"), "overhead_s_median")), 0.5)
    add("big4 s3: peak RSS growth worker/floor", ratio(get(res, ("big4", "s3", "worker"), "peak_rss_delta_mb"),
                                                      get(res, ("big4", "s3", "floor"), "peak_rss_delta_mb")), 1 / 3)
    add("start: worker import + container / import runpod",
        ratio(start.get("worker_s_median"), start.get("import_runpod_s_median")), 1.1)
    return rows


def render(report: dict[str, Any]) -> str:
    res, cold = _by_key(report), _cold(report)
    lines = [f"Benchmark against {report['comfy']} on {report['machine']}, {report['date']}.", "",
             "| scenario | sink | client | n | wall median s | overhead median s | overhead p90 s | CPU median s | "
             "peak RSS growth MB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["results"]:
        lines.append(f"| {r['scenario']} | {r['sink']} | {r['client']} | {r['n']} | {_fmt(r['wall_s_median'])} | "
                     f"{_fmt(r['overhead_s_median'])} | {_fmt(r['overhead_s_p90'])} | {_fmt(r.get('cpu_s_median'))} | "
                     f"{_fmt(r['peak_rss_delta_mb'], 1)} |")
    lines += ["", "| scenario | sink | wall worker/floor | overhead worker/floor | overhead polling/worker | "
              "RSS growth worker/floor | cold wall worker/floor |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for scenario, sink in dict.fromkeys((r["scenario"], r["sink"]) for r in report["results"]):
        w, f, p = (res.get((scenario, sink, c), {}) for c in ("worker", "floor", "polling"))
        cw, cf = cold.get((scenario, sink, "worker"), {}), cold.get((scenario, sink, "floor"), {})
        lines.append(f"| {scenario} | {sink} | {_fmt(ratio(w.get('wall_s_median'), f.get('wall_s_median')), 2)} | "
                     f"{_fmt(ratio(w.get('overhead_s_median'), f.get('overhead_s_median')), 2)} | "
                     f"{_fmt(ratio(p.get('overhead_s_median'), w.get('overhead_s_median')), 1)} | "
                     f"{_fmt(ratio(w.get('peak_rss_delta_mb'), f.get('peak_rss_delta_mb')), 2)} | "
                     f"{_fmt(ratio(cw.get('wall_s'), cf.get('wall_s')), 2)} |")
    if report.get("spread"):
        lines += ["", "Each ratio round by round (job *i* of every client; warm rounds): how far it moves.", "",
                  "| scenario | sink | ratio | rounds | median | IQR | min–max |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in report["spread"]:
            lines.append(f"| {s['scenario']} | {s['sink']} | {s['ratio']} | {s['rounds']} | {_fmt(s['median'], 2)} | "
                         f"{_fmt(s['q1'], 2)}–{_fmt(s['q3'], 2)} | {_fmt(s['min'], 2)}–{_fmt(s['max'], 2)} |")
    start = report.get("startup") or {}
    lines += ["", f"Start-up (fresh processes, medians): worker import + container "
              f"{_fmt(start.get('worker_s_median'))} s, `import runpod` alone {_fmt(start.get('import_runpod_s_median'))} s.",
              ""]
    fresh = report.get("cold_fresh") or {}
    if fresh:
        lines += [f"First job of a fresh process (`small`, base64; medians over {fresh['processes']} fresh processes "
                  f"of each kind): worker {_fmt(fresh.get('worker_wall_s_median'))} s, floor "
                  f"{_fmt(fresh.get('floor_wall_s_median'))} s, polling {_fmt(fresh.get('polling_wall_s_median'))} s.",
                  ""]
    lines += ["| target | measured | bound | met |", "| --- | --- | --- | --- |"]
    for name, value, bound, met in targets(report):
        verdict = "not measured" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {_fmt(value, 2)} | {bound} | {verdict} |")
    if report.get("failures"):
        lines += ["", f"**{len(report['failures'])} jobs failed their check**; see `failures` in latest.json."]
    return "\n".join(lines) + "\n"


STREAM_TARGETS = (("idle_s_mean", "idle between prompts", {"small": 0.2, "big4": 0.2}, True),
                  ("throughput_jobs_per_min", "throughput", {"small": 1.3, "big4": 1.15}, False),
                  ("latency_s_p50", "p50 submission-to-result latency", {"small": 1.0, "big4": 1.0}, True))


def stream_ratios(stream: dict[str, Any]) -> list[tuple[str, int, str, Optional[float], Optional[float], bool]]:
    """(stream, concurrency, figure, ratio to concurrency 1, bound or None, at_most) for every run above 1."""
    by_key = {(r["stream"], r["concurrency"]): r for r in stream["runs"]}
    rows = []
    for (name, concurrency), run in by_key.items():
        base = by_key.get((name, 1))
        if concurrency == 1 or base is None:
            continue
        for field, label, bounds, at_most in STREAM_TARGETS:
            bound = bounds.get(name) if concurrency == 2 else None
            rows.append((name, concurrency, label, ratio(run[field], base[field]), bound, at_most))
    return rows


def render_stream(stream: dict[str, Any]) -> str:
    lines = [f"Stream benchmark ({stream['mode']}), {stream['date']}: every job queued at once on the RunPod "
             f"stand-in (job-take {stream['take_latency_s'] * 1000:.0f} ms, result post "
             f"{stream['result_latency_s'] * 1000:.0f} ms), one worker process in the SDK's loop, the simulator "
             f"at {stream['prompt_s']:.1f} s per prompt.", "",
             "| stream | sink | MAX_CONCURRENCY | jobs | execution median s | idle between prompts mean s | "
             "idle median s | idle share | jobs/min | latency p50 s | latency p95 s | failed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in stream["runs"]:
        lines.append(f"| {r['stream']} | {r['sink']} | {r['concurrency']} | {r['jobs']} | "
                     f"{_fmt(r['execution_s_median'], 3)} | {_fmt(r['idle_s_mean'], 3)} | "
                     f"{_fmt(r['idle_s_median'], 3)} | {_fmt(r['idle_fraction'], 2)} | "
                     f"{_fmt(r['throughput_jobs_per_min'], 1)} | {_fmt(r['latency_s_p50'], 2)} | "
                     f"{_fmt(r['latency_s_p95'], 2)} | {len(r['failures'])} |")
    rows = stream_ratios(stream)
    if rows:
        lines += ["", "| stream | MAX_CONCURRENCY vs 1 | figure | ratio | target | met |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, concurrency, label, value, bound, at_most in rows:
            target = "–" if bound is None else f"{'≤' if at_most else '≥'} {bound:.3g}"
            met = "–" if bound is None or value is None else (
                "yes" if (value <= bound if at_most else value >= bound) else "**no**")
            lines.append(f"| {name} | {concurrency} | {label} | {_fmt(value, 2)} | {target} | {met} |")
    return "\n".join(lines) + "\n"
