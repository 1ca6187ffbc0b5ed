"""The model download benchmark's own code on a small file: it runs, counts what the server sent, writes its JSON."""
import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIZE = 3 * 2**20


@pytest.fixture(scope="module")
def models_run(tmp_path_factory):
    out, work = tmp_path_factory.mktemp("models"), tmp_path_factory.mktemp("work")
    done = subprocess.run(
        [sys.executable, "-m", "bench.models", "--rounds", "2", "--size-mb", "3", "--network-rounds", "1",
         "--network-mb-s", "30", "--out", str(out), "--work", str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    return done, out, work


def test_a_small_run_moves_the_file_once_per_folder_and_writes_its_figures(models_run):
    done, out, work = models_run
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "models.json").read_text())
    assert (result["size_bytes"], result["rounds"], len(result["per_round"])) == (SIZE, 2, 2)
    for row in result["per_round"] + result["network"]["per_round"]:
        assert row["plain_s"] > 0 and row["worker_s"] > 0 and row["ratio"] > 0 and row["worker_rss_growth_mb"] >= 0
        assert row["plain_sha256_s"] > 0 and row["floor_ratio"] > 0
    network = result["network"]
    assert (network["server_mb_s"], network["rounds"]) == (30, 1)
    assert min(row["plain_s"] for row in network["per_round"]) >= SIZE / 30e6 * 0.9  # the server kept to its rate
    assert (result["second_job"]["outcome"], result["second_job"]["server_bytes"]) == ("cached", 0)
    pair = result["two_processes"]
    assert (pair["outcomes"], pair["server_gets"], pair["server_bytes"]) == (["cached", "downloaded"], 1, SIZE)
    threads = result["two_threads"]
    assert (threads["outcomes"], threads["server_gets"], threads["server_bytes"]) == (["cached", "downloaded"], 1, SIZE)
    assert result["rate_ratio_min"] <= result["rate_ratio_median"] <= result["rate_ratio_max"]
    assert list(work.iterdir()) == []  # the file and every download are gone


def test_the_markdown_table_is_written_and_printed(models_run):
    done, out, _ = models_run
    table = (out / "models.md").read_text()
    assert "| round | plain s | plain + sha256 s | worker s | rate worker/plain |" in table
    assert "From the same server throttled to 30 MB/s" in table
    assert "| second job: bytes the server sent | 0 | = 0 | yes |" in table
    assert table.strip() in done.stdout
