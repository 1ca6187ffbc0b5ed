"""start.sh with stand-ins: `knobs` gives its environment, a copy of scripts/ and a ComfyUI folder whose main.py
records what it was started with."""
import os
import shutil
import sys

import pytest

from deploy.start_harness import ROOT

# stands in for ComfyUI's main.py: records what it was started with, then waits to be stopped
FAKE_MAIN = """
import json, os, sys, time
print("comfyui stand-in: started", flush=True)
with open(os.environ["RECORD"], "w") as out:
    json.dump({"argv": sys.argv[1:], "LD_PRELOAD": os.environ.get("LD_PRELOAD"),
               "MODEL_DOWNLOAD_DIR": os.environ.get("MODEL_DOWNLOAD_DIR")}, out)
time.sleep(120)
"""


@pytest.fixture
def knobs(tmp_path):
    """(environment, scripts copy, ComfyUI folder) for start.sh with stand-ins for ComfyUI, the worker and sshd."""
    scripts = tmp_path / "scripts"
    shutil.copytree(ROOT / "scripts", scripts)
    (scripts / "start_sshd.sh").write_text(
        f'#!/usr/bin/env bash\necho "port=$1 key=$(cat)" > {tmp_path}/sshd.args\n')
    comfy_dir = tmp_path / "comfyui"
    comfy_dir.mkdir()
    (comfy_dir / "main.py").write_text(FAKE_MAIN)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "worker").write_text("#!/usr/bin/env bash\nexec sleep 120\n")
    # what ldconfig -p prints for the tcmalloc of Debian and Ubuntu
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")
    (bin_dir / "ldconfig").write_text(
        "#!/usr/bin/env bash\n"
        f'printf "\\tlibtcmalloc_minimal.so.4 (libc6,x86-64) => {tmp_path}/libtcmalloc_minimal.so.4\\n"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BUCKET_", "COMFY_", "RUNPOD_", "NETWORK_VOLUME", "PUBLIC_KEY", "SSH_", "LD_PRELOAD",
                                 "MODEL_"))}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "COMFYUI_PYTHON": sys.executable,
                "WORKER_PYTHON": str(bin_dir / "worker"), "COMFY_GPU_FLAG": "--cpu", "COMFYUI_DIR": str(comfy_dir),
                "COMFY_PID_FILE": str(tmp_path / "comfyui.pid"),
                "COMFY_LOG_FILE": str(tmp_path / "comfyui.log"), "RECORD": str(tmp_path / "record.json")})
    return env, scripts, comfy_dir


