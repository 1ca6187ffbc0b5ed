"""The benchmark's own code on two `small` jobs in base64 mode against the simulator: it runs and writes its JSON."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULT_KEYS = {"scenario", "sink", "client", "n", "wall_s_median", "overhead_s_median", "overhead_s_p90",
               "peak_rss_delta_mb"}


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
        assert result["peak_rss_delta_mb"] >= 0
    assert sorted(c["client"] for c in report["cold"]) == ["floor", "polling", "worker"]


def test_the_markdown_table_carries_the_ratios_and_is_printed(bench_run):
    done, out = bench_run
    table = (out / "latest.md").read_text()
    assert "overhead worker/floor" in table and "overhead polling/worker" in table
    assert "| small | base64 | worker | 1 |" in table
    assert table.strip() in done.stdout


def test_the_check_refuses_another_job_s_image():
    sys.path.insert(0, str(ROOT))
    import base64
    import io

    from PIL import Image

    from bench.verify import problems_with
    from bench.workflows import build_job, rgb

    def answer(color: int) -> list:
        buffer = io.BytesIO()
        Image.new("RGB", (512, 512), tuple(rgb(color))).save(buffer, format="PNG")
        return [{"filename": "bench_7_00001_.png", "type": "base64", "data": base64.b64encode(buffer.getvalue()).decode()}]

    job = build_job("small", 7, "bench_7")
    color = job["workflow"]["1"]["inputs"]["color"]
    assert problems_with(answer(color), job["expect"]) == []
    assert "another job" in problems_with(answer(color ^ 0x010101), job["expect"])[0]
    assert problems_with([], job["expect"]) == ["expected 1 images, got 0"]
