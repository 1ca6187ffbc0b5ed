"""The image's tools for custom nodes: comfy-node-install from a local folder, the check that a node's requirements
are in ComfyUI's own interpreter (worker-comfyui #237), restore_snapshot.sh, comfy-manager-set-mode. They run here
with stand-ins for comfy (comfy-cli) and for pip; the requirements check runs with this interpreter."""
import configparser
import os
import pathlib
import subprocess
import sys

import pytest

from deploy.start_harness import ROOT

CHECK = ROOT / "scripts/check_node_requirements.py"


def node(folder: pathlib.Path, requirements: str = "", install_py: bool = False) -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    if requirements:
        (folder / "requirements.txt").write_text(requirements)
    if install_py:
        (folder / "install.py").write_text("open('install.ran', 'w').write('ran')\n")  # in the folder it runs in
    return folder


def check(*folders: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), *map(str, folders)], capture_output=True, text=True, timeout=60)


def test_requirements_installed_in_the_interpreter_pass(tmp_path):
    folder = node(tmp_path / "good", "# a comment\npytest>=1  # tests\nrequests\n--extra-index-url https://x\n"
                                     "missing-on-old-python-only; python_version < '3'\ngit+https://example.org/x\n")
    result = check(folder)
    assert result.returncode == 0, result.stderr
    assert f"installed in {sys.prefix}" in result.stdout


def test_a_requirement_missing_from_the_interpreter_fails_and_is_named(tmp_path):
    result = check(node(tmp_path / "videohelper", "pytest\nopencv-python-not-here-x>=4\n"))
    assert result.returncode == 1
    assert "MISSING from" in result.stderr and "videohelper: opencv-python-not-here-x>=4" in result.stderr
    assert "pytest" not in result.stderr


def test_another_version_is_reported_but_not_fatal(tmp_path):
    result = check(node(tmp_path / "pinned", "pytest<1\n"))
    assert result.returncode == 0 and "another version: pinned: pytest<1 (installed:" in result.stdout


@pytest.fixture
def tools(tmp_path):
    """comfy and pip stand-ins: `comfy node install X` makes custom_nodes/X (with requirements.txt naming a missing
    package for 'needs-*' nodes) and fails for 'broken-*'; ComfyUI's `python -m pip install` is recorded, not run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    comfy_dir = tmp_path / "comfyui"
    (bin_dir / "comfy").write_text(
        f'#!/usr/bin/env bash\necho "comfy $*" >> {calls}\nname="${{!#}}"\n'
        '[[ "$*" == *"node install"* ]] || exit 0\n'
        '[[ "${name}" != broken-* ]] || { echo "cm-cli: cannot install ${name}"; exit 1; }\n'
        f'mkdir -p {comfy_dir}/custom_nodes/"${{name}}"\n'
        f'[[ "${{name}}" != needs-* ]] || echo "not-installed-anywhere-x" > {comfy_dir}/custom_nodes/"${{name}}"/requirements.txt\n')
    (bin_dir / "comfyui-python").write_text(
        f'#!/usr/bin/env bash\nif [[ "$1 $2" == "-m pip" ]]; then echo "pip $*" >> {calls}; exit 0; fi\n'
        f'exec {sys.executable} "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY", "VIRTUAL_ENV"))}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "COMFYUI_DIR": str(comfy_dir),
                "COMFYUI_PYTHON": str(bin_dir / "comfyui-python")})
    return env, calls, comfy_dir


def node_install(env: dict, *nodes) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/comfy-node-install"), *map(str, nodes)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_local_node_folder_is_copied_in_and_its_requirements_go_to_comfyuis_interpreter(tools, tmp_path):
    env, calls, comfy_dir = tools
    source = node(tmp_path / "src/my_node", "pytest\n", install_py=True)
    result = node_install(env, source)
    assert result.returncode == 0, result.stderr
    assert (comfy_dir / "custom_nodes/my_node/__init__.py").exists()
    assert f"pip -m pip install --no-cache-dir -r {comfy_dir}/custom_nodes/my_node/requirements.txt" in calls.read_text()
    assert (comfy_dir / "custom_nodes/my_node/install.ran").exists(), "install.py runs in the copy, as the Manager does"
    assert "comfy " not in calls.read_text(), "a folder needs no registry"


def test_a_node_whose_requirements_land_elsewhere_fails_the_build(tools, tmp_path):
    env, _, comfy_dir = tools
    (comfy_dir / ".venv").mkdir(parents=True)  # where comfy-cli installs without VIRTUAL_ENV (#237)
    result = node_install(env, "comfyui-kjnodes", "needs-opencv")
    assert result.returncode == 1
    assert "needs-opencv: not-installed-anywhere-x" in result.stderr
    assert f"{comfy_dir}/.venv exists" in result.stderr and "FAILED" in result.stderr


def test_a_folder_that_is_not_a_node_fails(tools, tmp_path):
    env, _, _ = tools
    (tmp_path / "empty").mkdir()
    result = node_install(env, tmp_path / "empty")
    assert result.returncode == 1 and "has no __init__.py" in result.stderr


def test_registry_nodes_install_into_the_named_workspace(tools):
    env, calls, comfy_dir = tools
    assert node_install(env, "comfyui-kjnodes").returncode == 0
    assert f"--workspace {comfy_dir} node install --exit-on-fail comfyui-kjnodes" in calls.read_text()


def restore(env: dict, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/restore_snapshot.sh"), *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def snapshot_env(tools, tmp_path):
    env, calls, comfy_dir = tools
    comfy_dir.mkdir(exist_ok=True)
    (comfy_dir / "main.py").write_text("")
    build = tmp_path / "build"
    build.mkdir()
    return env, calls, comfy_dir, build


def test_no_snapshot_is_nothing_to_restore(snapshot_env):
    env, calls, _, build = snapshot_env
    result = restore(env, build)
    assert result.returncode == 0 and "nothing to restore" in result.stdout
    assert not calls.exists()


def test_a_snapshot_is_restored_with_its_pypi_packages(snapshot_env):
    env, calls, comfy_dir, build = snapshot_env
    (build / "my_snapshot.json").write_text('{"comfyui": "abc", "git_custom_nodes": {}, "pips": {}}')
    result = restore(env, build)
    assert result.returncode == 0, result.stderr
    assert (f"comfy --skip-prompt --workspace {comfy_dir} node restore-snapshot {build}/my_snapshot.json "
            "--pip-non-url") in calls.read_text()


@pytest.mark.parametrize("output", ["[  FAILED   ] comfyui-videohelpersuite", "Execution error: ['python', '-m']"])
def test_a_snapshot_that_does_not_restore_fails_although_comfy_exits_0(snapshot_env, output):
    env, _, _, build = snapshot_env
    (build / "snapshot.json").write_text("{}")
    comfy = pathlib.Path(env["PATH"].split(":")[0]) / "comfy"
    comfy.write_text(f"#!/usr/bin/env bash\necho '{output}'\nexit 0\n")
    result = restore(env, build)
    assert result.returncode == 1 and "FAILED" in result.stderr
    if "videohelper" in output:
        assert "nodes: comfyui-videohelpersuite" in result.stderr


def test_restored_nodes_must_find_their_requirements_in_comfyuis_interpreter(snapshot_env):
    env, _, comfy_dir, build = snapshot_env
    (build / "snapshot.json").write_text("{}")
    node(comfy_dir / "custom_nodes/restored", "not-installed-anywhere-x\n")
    result = restore(env, build)
    assert result.returncode == 1 and "restored: not-installed-anywhere-x" in result.stderr


def test_two_snapshots_are_refused(snapshot_env):
    env, calls, _, build = snapshot_env
    (build / "a_snapshot.json").write_text("{}")
    (build / "b_snapshot.json").write_text("{}")
    result = restore(env, build)
    assert result.returncode == 2 and "more than one snapshot" in result.stderr and not calls.exists()


def set_mode(tmp_path: pathlib.Path, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts/comfy-manager-set-mode"), *args], capture_output=True,
                          text=True, timeout=30, env=os.environ | {"COMFYUI_DIR": str(tmp_path / "comfyui")} | env)


def test_set_mode_writes_both_manager_layouts_and_keeps_other_settings(tmp_path):
    config = tmp_path / "comfyui/user/__manager/config.ini"
    config.parent.mkdir(parents=True)
    config.write_text("[default]\nuse_uv = True\nnetwork_mode = public\n")
    assert set_mode(tmp_path, "offline").returncode == 0
    for layout in ("__manager/config.ini", "default/ComfyUI-Manager/config.ini"):
        parser = configparser.ConfigParser()
        parser.read(tmp_path / "comfyui/user" / layout)
        assert parser.get("default", "network_mode") == "offline", layout
    assert "use_uv = True" in config.read_text()


def test_set_mode_refuses_an_unknown_mode_and_honours_one_named_file(tmp_path):
    assert set_mode(tmp_path, "online").returncode == 64
    single = tmp_path / "mine.ini"
    assert set_mode(tmp_path, "private", COMFYUI_MANAGER_CONFIG=str(single)).returncode == 0
    assert "network_mode = private" in single.read_text() and not (tmp_path / "comfyui").exists()
