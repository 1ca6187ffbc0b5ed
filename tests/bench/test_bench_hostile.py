"""The hostile-text benchmark's own code, on 1 MB texts: it runs, answers each case as the worker does, writes its
JSON and table (its times are figures to read, never asserted)."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_quick_run_writes_every_case(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY_", "BUCKET_"))}
    done = subprocess.run([sys.executable, "-m", "bench.hostile", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "hostile.json").read_text())
    assert [row["answer"] for row in report["loop"]] == ["invalid_input"] * 5 + ["node_missing"] * 2
    assert {"loop_lag_ms_median", "loop_lag_ms_max", "elapsed_ms_median"} <= set(report["loop"][0])
    assert len(report["redaction"]) == 6 and all(row["ratio"] > 0 for row in report["redaction"])
    assert (tmp_path / "hostile.md").read_text() == done.stdout
