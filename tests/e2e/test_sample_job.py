"""`make run`'s sample job: with no ComfyUI at COMFY_HOST it runs the simulator in-process and writes real PNGs."""
import os
import shutil
import subprocess
import sys

from PIL import Image

from e2e.conftest import ROOT, free_port
from sample_job.__main__ import local_name


def _run_sample(tmp_path, pythonpath: str, job=ROOT / "test_input.json") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "OUTPUT_SINK", "COMFY_"))}
    env.update({"COMFY_HOST": f"127.0.0.1:{free_port()}", "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"})
    out = tmp_path / "out"
    return subprocess.run([sys.executable, "-m", "sample_job", str(job),
                           "--out", str(out)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def _assert_sample_outputs(done: subprocess.CompletedProcess, out) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using the ComfyUI simulator" in done.stdout
    assert "Job succeeded: 3 output(s)" in done.stdout
    sizes = {path.name: Image.open(path).size for path in out.glob("*.png")}
    assert sizes == {"sample_inverted_00001_.png": (64, 64), "sample_orange_00001_.png": (128, 96),
                     "sample_orange_00002_.png": (128, 96)}


def test_sample_job_falls_back_to_the_simulator_and_writes_outputs(tmp_path):
    done = _run_sample(tmp_path, str(ROOT / "src"))
    _assert_sample_outputs(done, tmp_path / "out")


def test_a_failed_sample_job_prints_its_whole_error(tmp_path):
    """What RunPod, the SDK's local API and --test_input reduce to the `error` line: make run prints it all."""
    done = _run_sample(tmp_path, str(ROOT / "src"), ROOT / "examples" / "workflow_invalid.json")
    assert done.returncode == 1, done.stdout + done.stderr
    printed = done.stdout.splitlines()
    line = "node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1"
    assert printed[1:4] == [f"Job failed: workflow_invalid: {line}", "  error_code: workflow_invalid",
                            f"  detail: {line}"], done.stdout
    assert printed[4] == "  data: {" and '"type": "value_smaller_than_min"' in done.stdout, done.stdout


def test_sample_job_runs_from_regular_installs_of_the_worker_and_the_simulator(tmp_path):
    """Non-editable installs of the worker and of the simulator (each a distribution of its own), and the sample
    job's own files: nothing is read from src/ or tests/."""
    target = tmp_path / "site"
    ignored = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".venv", ".git", "tests", "bench", "out")
    for n, distribution in enumerate((ROOT, ROOT / "src" / "comfyui_sim", ROOT / "src" / "comfy_runpod_client")):
        copy = shutil.copytree(distribution, tmp_path / f"source-{n}", ignore=ignored)  # leftovers stay out of src/
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                        str(copy)], check=True, capture_output=True, timeout=300)
    assert (target / "comfyui_sim" / "__init__.py").exists() and (target / "entrypoints").is_dir()
    shutil.copytree(ROOT / "src" / "sample_job", tmp_path / "tool" / "sample_job")
    done = _run_sample(tmp_path, f"{target}:{tmp_path / 'tool'}")
    _assert_sample_outputs(done, tmp_path / "out")


def test_output_names_are_made_safe_and_keep_subfolders_apart():
    assert local_name("", "ComfyUI_00001_.png") == "ComfyUI_00001_.png"
    assert local_name("video", "clip.mp4") == "video__clip.mp4"
    assert local_name("a/b", "x.png") != local_name("a", "x.png")
    assert local_name("../..", "../../etc/passwd") == "etc__passwd"
    assert local_name("", "..") == "output"
    assert "/" not in local_name("sub\\dir", "we ird:name?.png")
    assert not local_name("", ".hidden").startswith(".")
