"""The Dockerfile, .dockerignore and the build scripts: two venvs, cached dependency layers, an init, a pinned CUDA
build of torch, custom nodes that fail the build. The scripts run here with recording stand-ins for pip and comfy."""
import json
import os
import pathlib
import re
import subprocess
import tarfile
from typing import Optional

import pytest

from deploy.start_harness import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
HUB = json.loads((ROOT / ".runpod/hub.json").read_text())
DEPLOYMENT = (ROOT / "docs/deployment.md").read_text()


def stages() -> dict[str, list[str]]:
    """target name -> its instructions (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    found: dict[str, list[str]] = {}
    current: Optional[list[str]] = None
    for line in joined.splitlines():
        match = re.match(r"FROM \S+ AS (\S+)", line)
        if match:
            current = found.setdefault(match.group(1), [])
        elif current is not None and line.strip() and not line.startswith("#"):
            current.append(line.strip())
    return found


def arg_default(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S*)$", DOCKERFILE, re.M)
    assert match, f"the Dockerfile has no ARG {name}"
    return match.group(1).strip('"')


@pytest.mark.parametrize("target", ["worker", "comfyui-simulator", "comfyui-worker"])
def test_dependencies_are_installed_before_the_code_is_copied(target):
    lines = stages()[target]
    copy_src = next(i for i, line in enumerate(lines) if line.startswith("COPY src") and "pyproject.toml" not in line)
    installs = [i for i, line in enumerate(lines) if "pip install" in line and "requirements.txt" in line]
    assert installs and installs[0] < copy_src, f"{target}: the dependencies must be a layer before COPY src"
    after = [line for line in lines[copy_src:] if "pip install" in line]
    assert after and all("--no-deps" in line for line in after), f"{target}: after COPY src only the code installs"


def test_comfyui_and_the_worker_live_in_two_venvs():
    lines = " ".join(stages()["comfyui-worker"])
    assert "python3 -m venv /opt/venv" in lines and "python3 -m venv /opt/worker" in lines
    assert "/opt/worker/bin/pip install --no-cache-dir -r requirements.txt" in lines
    assert "COMFYUI_PYTHON=/opt/venv/bin/python" in lines and "WORKER_PYTHON=/opt/worker/bin/python" in lines
    # only ComfyUI's venv is on PATH (comfy, pip, comfy-node-install act on it); the worker's is not
    assert "PATH=/opt/venv/bin:$PATH" in lines and "/opt/worker/bin:" not in lines


def test_an_init_reaps_and_forwards_signals_and_comfy_host_is_not_baked():
    lines = stages()["comfyui-worker"]
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in lines and " tini" in " ".join(lines)
    assert "COMFY_HOST" not in DOCKERFILE, "COMFY_HOST must follow COMFY_LISTEN/COMFY_PORT (start.sh derives it)"


def copied_to(folder: str) -> set:
    """The script names the comfyui-worker stage copies into `folder`."""
    names = set()
    for line in stages()["comfyui-worker"]:
        parts = line.split()
        if parts[0] == "COPY" and parts[-1] == folder:
            names |= {pathlib.Path(source).name for source in parts[1:-1] if source.startswith("scripts/")}
    return names


def test_every_helper_a_script_calls_beside_itself_is_copied_beside_it():
    start = (ROOT / "scripts/start.sh").read_text()
    helpers = set(re.findall(r'"\$\{here\}/([\w.-]+)"', start))
    assert {"gpu_preflight.py", "start_sshd.sh", "network_volume_report.py"} <= helpers
    # comfy-manager-set-mode is found on PATH first (the image's /usr/local/bin), beside start.sh otherwise
    assert (helpers - {"comfy-manager-set-mode"}) | {"start.sh", "restore_snapshot.sh"} <= copied_to("/")
    assert {"comfy-node-install", "comfy-manager-set-mode"} <= copied_to("/usr/local/bin/"), "tools for derived images"
    for tool, folder in (("comfy-node-install", "/usr/local/bin/"), ("restore_snapshot.sh", "/")):
        assert "check_node_requirements.py" in (ROOT / "scripts" / tool).read_text()
        assert "check_node_requirements.py" in copied_to(folder), f"{tool} finds its check beside itself"


def test_the_image_has_sshd_without_host_keys_and_tcmalloc():
    apt = next(line for line in stages()["comfyui-worker"] if "apt-get install" in line)
    assert "openssh-server" in apt and "libtcmalloc-minimal4" in apt
    assert "rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*_key*" in apt, "containers must not share host keys"


def test_dockerignore_keeps_the_context_small():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for pattern in (".venv", "models/", "out/", "**/*.egg-info", "tests/", "**/__pycache__", ".mypy_cache", ".git"):
        assert pattern in ignored, pattern
    for needed in ("src", "scripts", "pyproject.toml", "README.md", "comfyui-source.tar.gz"):
        assert not any(needed.startswith(pattern.rstrip("/")) for pattern in ignored), needed


def cuda_of(base_image: str) -> str:
    match = re.search(r"nvidia/cuda:(\d+\.\d+)\.\d+", base_image)
    assert match, f"{base_image} is not an nvidia/cuda image"
    return match.group(1)


def test_the_default_torch_cuda_build_matches_the_base_image_and_the_hub():
    cuda = arg_default("CUDA_VERSION_FOR_COMFY")
    assert cuda_of(arg_default("BASE_IMAGE")) == cuda == "12.6"
    allowed = HUB["config"]["allowedCudaVersions"]
    assert allowed and all(tuple(map(int, v.split("."))) >= tuple(map(int, cuda.split("."))) for v in allowed), \
        "a host below the image's CUDA cannot run its torch"
    assert cuda in allowed


def test_the_docs_give_a_12_6_and_a_12_8_variant_with_matching_arguments():
    variants = re.findall(r"BASE_IMAGE=(nvidia/cuda:\S+)\s+--build-arg CUDA_VERSION_FOR_COMFY=(\d+\.\d+)", DEPLOYMENT)
    assert {cuda for _, cuda in variants} >= {"12.6", "12.8"}, variants
    assert all(cuda_of(base) == cuda for base, cuda in variants), variants


@pytest.fixture
def recorders(tmp_path):
    """`python` and `comfy` stand-ins on PATH that log their arguments; `comfy node install` fails for 'broken-*'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    (bin_dir / "python").write_text(f'#!/usr/bin/env bash\necho "python $*" >> {calls}\n')
    (bin_dir / "comfy").write_text(
        f'#!/usr/bin/env bash\necho "comfy $*" >> {calls}\n'
        '[[ "$*" != *"node install"* || "${!#}" != broken-* ]] || { echo "cm-cli: cannot install ${!#}"; exit 1; }\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VERSION", "COMFYUI_SOURCE")}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "PYTHON": "python", "COMFYUI_DIR": str(tmp_path / "comfyui")})
    return env, calls


def install(env: dict, **variables) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/install_comfyui.sh")], env=env | variables,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("base_cuda", "wanted"), [("12.6.3", "12.6"), ("12.8.1", "12.8"), ("", "12.8")])
def test_install_pins_the_cuda_build_of_torch(recorders, base_cuda, wanted):
    env, calls = recorders
    result = install(env, COMFYUI_VERSION="0.8.0", CUDA_VERSION_FOR_COMFY=wanted, CUDA_VERSION=base_cuda)
    assert result.returncode == 0, result.stderr
    assert f"install --version 0.8.0 --nvidia --cuda-version {wanted}" in calls.read_text()


@pytest.mark.parametrize(("base_cuda", "wanted"), [("12.8.1", "12.6"), ("12.6.3", "12.8"), ("12.6.3", "")])
def test_install_refuses_a_cuda_build_the_base_image_cannot_run(recorders, base_cuda, wanted):
    env, calls = recorders
    result = install(env, COMFYUI_VERSION="0.8.0", CUDA_VERSION_FOR_COMFY=wanted, CUDA_VERSION=base_cuda)
    assert result.returncode != 0 and "CUDA_VERSION_FOR_COMFY" in result.stderr
    assert not calls.exists(), "nothing may be installed before the check"


def test_install_from_a_source_archive_unpacks_it_and_takes_torch_for_the_flag(recorders, tmp_path):
    env, calls = recorders
    source = tmp_path / "src" / "ComfyUI"
    source.mkdir(parents=True)
    (source / "main.py").write_text("print('ComfyUI')\n")
    (source / "requirements.txt").write_text("torch\n")
    archive = tmp_path / "comfyui.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="ComfyUI")
    result = install(env, COMFYUI_SOURCE=str(archive), COMFY_GPU_FLAG="--cpu")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "comfyui/main.py").exists()
    log = calls.read_text()
    assert "https://download.pytorch.org/whl/cpu torch torchvision torchaudio -r" in log
    assert "comfy --skip-prompt install" not in log, "an archive is installed instead of a clone"


def test_install_from_a_source_archive_with_wheels_pins_the_torch_they_bring(recorders, tmp_path):
    env, calls = recorders
    # the python stand-in also records what its -c (constraints) and -r (requirements) files say
    (pathlib.Path(env["PATH"].split(":")[0]) / "python").write_text(
        f'#!/usr/bin/env bash\necho "python $*" >> {calls}\n'
        f'while (($#)); do [[ "$1" != -[cr] ]] || sed "s/^/$1 /" "$2" >> {calls}; shift; done\n')
    source = tmp_path / "src" / "ComfyUI"
    source.mkdir(parents=True)
    (source / "main.py").write_text("print('ComfyUI')\n")
    (source / "requirements.txt").write_text("torch\ntorchsde\ntorchvision>=0.15\nTorchAudio\nnumpy>=1.25.0\n")
    archive = tmp_path / "comfyui.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="ComfyUI")
    build = tmp_path / "build"
    build.mkdir()
    (build / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    result = subprocess.run(["bash", str(ROOT / "scripts/install_comfyui.sh")], cwd=build, capture_output=True,
                            text=True, timeout=60,
                            env=env | {"COMFYUI_SOURCE": str(archive), "COMFY_GPU_FLAG": "--cpu", "TORCH_INDEX_URL": "none"})
    assert result.returncode == 0, result.stderr
    installs = [line for line in calls.read_text().splitlines() if line.startswith("python -m pip install")]
    assert installs[-2].endswith(f"{build}/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"), installs
    log = calls.read_text().splitlines()
    assert "-c torch==2.13.0+cpu" in log, "the wheel's torch is pinned while ComfyUI's requirements install"
    requirements = [line.removeprefix("-r ") for line in log if line.startswith("-r ")]
    assert requirements == ["torchsde", "numpy>=1.25.0"], "the torch family comes from the wheels alone"
    assert "torchvision: no wheel provides it" in result.stdout
    assert "torchaudio: no wheel provides it" in result.stdout


def node_install(env: dict, *nodes: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/comfy-node-install"), *nodes], env=env, capture_output=True,
                          text=True, timeout=60)


def test_comfy_node_install_fails_when_any_node_fails(recorders):
    env, calls = recorders
    result = node_install(env, "comfyui-kjnodes", "broken-node", "comfyui_essentials")
    assert result.returncode == 1 and "FAILED: broken-node" in result.stderr, result
    installs = [line for line in calls.read_text().splitlines() if "node install" in line]
    assert len(installs) == 3 and all("--exit-on-fail" in line for line in installs), installs


def test_comfy_node_install_passes_when_every_node_installs(recorders):
    env, _ = recorders
    assert node_install(env, "comfyui-kjnodes").returncode == 0
    assert node_install(env).returncode == 64, "no node named is a usage error"


def test_the_container_disk_size_agrees_everywhere():
    sizes = {int(size) for size in re.findall(r"container disk \| (\d+) GB", DEPLOYMENT)}
    assert sizes == {HUB["config"]["containerDiskInGb"]}, sizes
