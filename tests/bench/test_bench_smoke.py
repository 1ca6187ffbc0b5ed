"""The benchmark's own code on two `small` jobs in base64 mode against the simulator: it runs and writes its JSON."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULT_KEYS = {"scenario", "sink", "client", "n", "wall_s_median", "overhead_s_median", "overhead_s_p90",
               "cpu_s_median", "peak_rss_delta_mb"}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env_free_of_comfy = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY_", "BUCKET_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scenarios", "small", "--sinks", "base64", "--jobs", "2",
         "--startup-repeats", "1", "--out", str(out)],
        cwd=ROOT, env=env_free_of_comfy, capture_output=True, text=True, timeout=300,
    )
    return done, out


def test_the_run_succeeds_and_writes_the_json_in_the_issue_s_shape(bench_run):
    done, out = bench_run
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "latest.json").read_text())

    assert report["comfy"] == "simulator"
    assert isinstance(report["machine"], str) and report["machine"]
    assert isinstance(report["date"], str) and report["date"]
    assert set(report["startup"]) == {"worker_s_median", "import_runpod_s_median"}
    assert all(value > 0 for value in report["startup"].values())
    assert report["failures"] == []
    assert sorted(r["client"] for r in report["results"]) == ["floor", "polling", "worker"]
    for result in report["results"]:
        assert set(result) == RESULT_KEYS
        assert (result["scenario"], result["sink"], result["n"]) == ("small", "base64", 1)
        assert result["wall_s_median"] > 0 and result["overhead_s_median"] is not None
        assert result["cpu_s_median"] > 0
        assert result["peak_rss_delta_mb"] >= 0
    assert sorted(c["client"] for c in report["cold"]) == ["floor", "polling", "worker"]
    fresh = report["cold_fresh"]
    assert (fresh["processes"], fresh["failed"]) == (1, 0)
    assert all(fresh[f"{client}_wall_s_median"] > 0 for client in ("worker", "floor", "polling"))


def test_the_markdown_table_carries_the_ratios_and_is_printed(bench_run):
    done, out = bench_run
    table = (out / "latest.md").read_text()
    assert "overhead worker/floor" in table and "overhead polling/worker" in table
    assert "| small | base64 | worker | 1 |" in table
    assert "First job of a fresh process (`small`, base64; medians over 1 fresh processes" in table
    assert table.strip() in done.stdout


def test_the_check_refuses_another_job_s_image():
    sys.path.insert(0, str(ROOT))
    import base64
    import io

    from bench.verify import problems_with
    from bench.workflows import build_job, rgb
    from PIL import Image

    def answer(color: int) -> list:
        buffer = io.BytesIO()
        Image.new("RGB", (512, 512), tuple(rgb(color))).save(buffer, format="PNG")
        return [{"filename": "bench_7_00001_.png", "type": "base64", "data": base64.b64encode(buffer.getvalue()).decode()}]

    job = build_job("small", 7, "bench_7")
    color = job["workflow"]["1"]["inputs"]["color"]
    assert problems_with(answer(color), job["expect"]) == []
    assert "another job" in problems_with(answer(color ^ 0x010101), job["expect"])[0]
    assert problems_with([], job["expect"]) == ["expected 1 images, got 0"]


def test_each_ratio_s_spread_over_rounds_is_in_the_json_and_the_table(bench_run):
    _, out = bench_run
    report = json.loads((out / "latest.json").read_text())
    ratios = {s["ratio"]: s for s in report["spread"]}
    assert set(ratios) == {"wall worker/floor", "overhead worker/floor", "overhead polling/worker"}
    for spread in ratios.values():
        assert spread["rounds"] == 1 and spread["min"] <= spread["q1"] <= spread["median"] <= spread["q3"] <= spread["max"]
    assert "| small | base64 | overhead polling/worker | 1 |" in (out / "latest.md").read_text()


@pytest.fixture(scope="module")
def stream_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream")
    (out / "latest.json").write_text(json.dumps({"results": ["kept"]}))
    env_free_of_comfy = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY_", "BUCKET_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bench.stream", "--streams", "small", "--concurrency", "1", "--jobs", "3",
         "--out", str(out), "--timeline", str(out / "timeline.svg")],
        cwd=ROOT, env=env_free_of_comfy, capture_output=True, text=True, timeout=300,
    )
    return done, out


def test_a_tiny_stream_runs_through_the_standin_and_keeps_the_rest_of_the_json(stream_run):
    done, out = stream_run
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "latest.json").read_text())
    assert report["results"] == ["kept"]
    [run] = report["stream"]["runs"]
    assert (run["stream"], run["sink"], run["concurrency"], run["jobs"], run["failures"]) == (
        "small", "base64", 1, 3, [])
    assert len(run["timeline"]) == 3  # one execution per job, read from the simulator's /history
    starts = [start for start, _ in run["timeline"]]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(end - start >= 0.998 for start, end in run["timeline"])  # prompt_time_s (ms stamps)
    assert run["throughput_jobs_per_min"] > 0 and run["latency_s_p50"] <= run["latency_s_p95"]
    assert "| small | base64 | 1 | 3 |" in (out / "stream.md").read_text()
    assert (out / "stream.md").read_text().strip() in done.stdout
    svg = (out / "timeline.svg").read_text()
    assert svg.startswith("<svg") and svg.count('fill="#2b6cb0"') == 3


def test_stream_figures_idle_gaps_throughput_and_ratios():
    sys.path.insert(0, str(ROOT))
    from bench.report import stream_ratios
    from bench.stream import figures

    got = figures([(2.5, 3.5), (0.0, 1.0), (1.5, 2.5)], latencies=[1.0, 2.0, 3.0, 4.0], makespan_s=4.0)
    assert (got["idle_s_mean"], got["idle_s_median"], got["throughput_jobs_per_min"]) == (0.25, 0.25, 60.0)
    assert got["idle_fraction"] == round(0.5 / 3.5, 4) and got["execution_s_median"] == 1.0

    def run(concurrency, idle, throughput, p50):
        return {"stream": "small", "sink": "base64", "concurrency": concurrency, "jobs": 4, "idle_s_mean": idle,
                "throughput_jobs_per_min": throughput, "latency_s_p50": p50, "failures": []}

    stream = {"runs": [run(1, 1.0, 30.0, 10.0), run(2, 0.1, 45.0, 9.0)]}
    rows = {row[2]: row for row in stream_ratios(stream)}
    assert rows["idle between prompts"][3:] == (0.1, 0.2, True)
    assert rows["throughput"][3:] == (1.5, 1.3, False)
    assert rows["p50 submission-to-result latency"][3:] == (0.9, 1.0, True)


def test_write_docs_fills_the_stream_block_and_leaves_the_rest(tmp_path):
    sys.path.insert(0, str(ROOT))
    from bench.docs import write_docs

    page = tmp_path / "performance.md"
    page.write_text("intro\n<!-- bench:stream:start -->\nold\n<!-- bench:stream:end -->\nafter\n")
    stream = {"mode": "quick", "date": "d", "take_latency_s": 0.15, "result_latency_s": 0.15, "prompt_s": 1.0,
              "runs": []}
    (tmp_path / "latest.json").write_text(json.dumps({"stream": stream}))
    write_docs(tmp_path / "latest.json", page)
    text = page.read_text()
    assert text.startswith("intro\n<!-- bench:stream:start -->\nStream benchmark (quick), d:") and "old" not in text
    assert text.endswith("<!-- bench:stream:end -->\nafter\n")


def test_history_entries_match_their_job_with_or_without_a_job_folder():
    sys.path.insert(0, str(ROOT))
    from bench.stream import spans

    def entry(prefix, start_ms, end_ms):
        prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}},
                  "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}
        messages = [["execution_start", {"timestamp": start_ms}], ["execution_success", {"timestamp": end_ms}]]
        return {"prompt": [0, "id", prompt, {}, ["2"]], "status": {"messages": messages}}

    history = {"a": entry("stream_1", 1000, 2000), "b": entry("job-7f3e/stream_2", 2500, 3500),
               "c": entry("someone_else", 4000, 5000)}
    assert spans(history, {"stream_1": "job-1", "stream_2": "job-2"}) == {"job-1": (1.0, 2.0), "job-2": (2.5, 3.5)}
