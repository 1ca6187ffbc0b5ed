"""The UI-format benchmark's own code on a few rounds against the simulator: it runs and writes its results."""
import gzip
import json
import os
import pathlib
import subprocess
import sys

from bench.ui import api_workflow, ui_workflow

from domain.workflow.ui_format import convert_ui_workflow

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_ui_benchmark_runs_both_forms_and_writes_its_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY_", "BUCKET_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run([sys.executable, "-m", "bench.ui", "--rounds", "4", "--out", str(tmp_path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the ratio missed its target on four rounds
    result = json.loads((tmp_path / "ui.json").read_text())
    assert result["rounds"] == 4 and result["target"] == 1.1
    assert result["overhead_ms"]["ui"]["median"] > 0 and result["overhead_ms"]["api"]["median"] > 0
    assert result["largest_template_conversion"]["api_nodes"] > 10
    assert "UI / API" in (tmp_path / "ui.md").read_text()


def test_both_forms_are_the_same_workflow():
    """The UI export converts to exactly the API export the benchmark sends: the same prompt both ways."""
    object_info = json.loads(gzip.decompress((ROOT / "tests/fixtures/comfyui/object_info_0.3.64.json.gz").read_bytes()))
    assert convert_ui_workflow(ui_workflow(7), object_info).prompt == api_workflow(7)
