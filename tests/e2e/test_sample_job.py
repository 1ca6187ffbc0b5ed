"""`make run`'s sample job: with no ComfyUI at COMFY_HOST it starts the simulator and writes real PNGs."""
import os
import subprocess
import sys

from PIL import Image

from e2e.conftest import ROOT, free_port


def test_sample_job_falls_back_to_the_simulator_and_writes_outputs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "OUTPUT_SINK", "COMFY_"))}
    env.update({"COMFY_HOST": f"127.0.0.1:{free_port()}", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'tests'}"})
    done = subprocess.run([sys.executable, "-m", "entrypoints.sample_job", str(ROOT / "test_input.json"),
                           "--out", str(tmp_path)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using the ComfyUI simulator" in done.stdout
    assert "Job succeeded: 3 output(s)" in done.stdout
    sizes = {path.name: Image.open(path).size for path in tmp_path.glob("*.png")}
    assert sizes == {"sample_inverted_00001_.png": (64, 64), "sample_orange_00001_.png": (128, 96),
                     "sample_orange_00002_.png": (128, 96)}
