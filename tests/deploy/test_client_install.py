"""The caller client installs alone: a fresh venv, `pip install` of its folder, none of the worker's dependencies."""
import json
import pathlib
import shutil
import subprocess
import sys

CLIENT = pathlib.Path(__file__).resolve().parents[2] / "src" / "comfy_runpod_client"
WORKER_ONLY = {"runpod", "boto3", "botocore", "pillow", "dependency-injector", "websocket-client", "aiohttp"}


def test_pip_install_of_the_client_brings_requests_and_tqdm_and_nothing_of_the_worker(tmp_path):
    source = tmp_path / "client"  # a copy: the build's leftovers stay out of the tree
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    listed = subprocess.run([python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True, timeout=60)
    names = {package["name"].lower().replace("_", "-") for package in json.loads(listed.stdout)}
    assert {"comfy-runpod-client", "requests", "tqdm", "urllib3"} <= names
    assert not names & WORKER_ONLY, sorted(names)
    assert names <= {"comfy-runpod-client", "requests", "tqdm", "urllib3", "idna", "certifi", "charset-normalizer",
                     "pip", "setuptools", "colorama"}, sorted(names)
    usage = subprocess.run([venv / "bin" / "comfy-runpod-client", "run", "--help"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert usage.returncode == 0 and "--resume JOB_ID" in usage.stdout, usage.stderr
