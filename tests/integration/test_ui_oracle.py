"""Opt-in: comfy-cli's converter as an oracle on the pinned editor templates (tests/comfy_cli_oracle.py).

comfy-cli is no dependency of the project (its install is about 340 MB); set COMFY_CLI_PYTHON to a Python that
has `comfy-cli==1.23.0` (a throwaway virtualenv) to run it. Every difference must be one of the known ones, each
a place where comfy-cli departs from the editor's rules.
"""
import os
import pathlib
import subprocess

import comfyui_workflow_templates
import pytest

ORACLE = pathlib.Path(__file__).resolve().parents[1] / "comfy_cli_oracle.py"
PYTHON = os.environ.get("COMFY_CLI_PYTHON", "")


def comfy_cli_importable() -> bool:
    if not PYTHON:
        return False
    probe = subprocess.run([PYTHON, "-c", "import comfy_cli.workflow_to_api"], capture_output=True, timeout=120)
    return probe.returncode == 0


@pytest.mark.skipif(not comfy_cli_importable(), reason="COMFY_CLI_PYTHON does not name a Python with comfy-cli")
def test_comfy_cli_differs_from_the_converter_only_where_it_departs_from_the_editor():
    templates = comfyui_workflow_templates.get_templates_path()
    run = subprocess.run([PYTHON, str(ORACLE), "--templates", templates, "--expect-pinned"], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("172 workflows compared, 152 identical, 32 differences"), run.stdout
