"""ComfyUI's own editor templates, converted and checked as ComfyUI 0.3.64 would validate them.

The templates are the `comfyui-workflow-templates` package ComfyUI 0.3.64's requirements pin (0.1.95: 172 UI
exports saved by the editor, 7 with subgraphs); /object_info is a recording of a real ComfyUI 0.3.64 with no model
and no input file (tests/fixtures/comfyui/object_info_0.3.64.json.gz). Every template whose classes that ComfyUI
has must convert to a workflow ComfyUI's validation accepts but for the model and input files it does not have.
"""
import gzip
import json
import pathlib
import re

import comfyui_workflow_templates  # the `test` extra installs the pinned version
import pytest

from domain.workflow.check import check_workflow
from domain.workflow.ui_format import convert_ui_workflow

TEMPLATES_VERSION = "0.1.95"
TEMPLATES = pathlib.Path(comfyui_workflow_templates.get_templates_path())
OBJECT_INFO_FILE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "comfyui" / "object_info_0.3.64.json.gz"
FILE_NAME = re.compile(r"\.[A-Za-z0-9]{2,12}( \[(input|output|temp)\])?$")

# Saved against other versions of these nodes (the template was made on a newer or older ComfyUI): their
# positional widgets_values no longer line up with 0.3.64's inputs, and the editor of 0.3.64 reads them the
# same way (it fills widgets by position), so ComfyUI refuses them there too.
SAVED_FOR_OTHER_DEFINITIONS = {
    "api_moonvalley_video_to_video_motion_transfer.json": {"invalid_input_type"},
    "api_moonvalley_video_to_video_pose_control.json": {"value_bigger_than_max", "value_not_in_list"},
    "api_rodin_gen2.json": {"invalid_input_type", "value_not_in_list"},
}
NEEDS_CUSTOM_NODES = {
    "video_wan2_2_14B_animate.json": {"BlockifyMask", "DWPreprocessor", "DownloadAndLoadSAM2Model",
                                      "DrawMaskOnImage", "PixelPerfectResolution", "PointsEditor", "Sam2Segmentation"},
}


def ui_templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES.glob("*.json") if not p.name.startswith("index"))


@pytest.fixture(scope="module")
def object_info():
    return json.loads(gzip.decompress(OBJECT_INFO_FILE.read_bytes()))


def missing_file(issue) -> bool:
    """A model or input file the recorded server does not have: a file name not among names that are no files."""
    return (issue.type == "value_not_in_list" and isinstance(issue.received, str) and bool(FILE_NAME.search(issue.received))
            and not any(FILE_NAME.search(str(allowed)) for allowed in issue.allowed or ()))


def test_the_templates_are_the_set_comfyui_0_3_64_pins():
    from importlib.metadata import version

    assert version("comfyui-workflow-templates") == TEMPLATES_VERSION
    names = ui_templates()
    with_subgraphs = [n for n in names if (json.loads((TEMPLATES / n).read_text()).get("definitions") or {})
                      .get("subgraphs")]
    assert (len(names), len(with_subgraphs)) == (172, 7)


@pytest.mark.parametrize("name", ui_templates())
def test_a_template_converts_to_a_workflow_comfyui_accepts_but_for_missing_files(name, object_info):
    workflow = json.loads((TEMPLATES / name).read_text())
    conversion = convert_ui_workflow(workflow, object_info, choose=lambda n: 0)
    assert set(conversion.origins) == set(conversion.prompt)
    lacking = {node["class_type"] for node in conversion.prompt.values()} - set(object_info)
    assert lacking == NEEDS_CUSTOM_NODES.get(name, set())
    if lacking:
        return
    issues = check_workflow(conversion.prompt, object_info)
    refused = {issue.type for issue in issues if not missing_file(issue)}
    assert refused == SAVED_FOR_OTHER_DEFINITIONS.get(name, set()), [issue.line() for issue in issues]
