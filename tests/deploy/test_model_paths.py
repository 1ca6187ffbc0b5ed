"""scripts/extra_model_paths.yaml maps every model folder ComfyUI knows onto the network volume."""
import ast
import os
import pathlib
import tarfile

import pytest
import yaml

from deploy.start_harness import ROOT

PATHS = yaml.safe_load((ROOT / "scripts/extra_model_paths.yaml").read_text())["runpod_worker_comfy"]
KNOWN = {line.strip() for line in (ROOT / "tests/fixtures/comfyui/model_folders.txt").read_text().splitlines()
         if line.strip() and not line.startswith("#")}
# registered by widely used custom nodes rather than by ComfyUI itself
CUSTOM_NODE_FOLDERS = {"ipadapter"}


def test_every_model_folder_of_comfyui_is_mapped_onto_the_volume():
    assert PATHS["base_path"] == "/runpod-volume"
    mapped = set(PATHS) - {"base_path", "is_default"}
    assert KNOWN - mapped == set(), f"not mapped: {sorted(KNOWN - mapped)}"
    assert mapped - KNOWN - CUSTOM_NODE_FOLDERS == set(), f"unknown to ComfyUI: {sorted(mapped - KNOWN)}"
    for name in ("model_patches", "audio_encoders", "latent_upscale_models", "style_models", "ipadapter",
                 "photomaker", "gligen", "hypernetworks", "clip_vision"):
        assert PATHS[name].split()[0] == f"models/{name}/", name


def test_legacy_folders_stay_reachable():
    assert "models/clip/" in PATHS["text_encoders"].split() and "models/unet/" in PATHS["diffusion_models"].split()


def folder_names(source: str) -> set:
    """The keys `folder_names_and_paths[...] = ` assigns in a ComfyUI source archive's folder_paths.py."""
    with tarfile.open(source) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/folder_paths.py") and m.name.count("/") == 1)
        folder_paths = archive.extractfile(member)
        assert folder_paths is not None, f"{member.name} is not a file"
        tree = ast.parse(folder_paths.read())
    return {node.targets[0].slice.value for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)
            and getattr(node.targets[0].value, "id", "") == "folder_names_and_paths"
            and isinstance(node.targets[0].slice, ast.Constant)}


@pytest.mark.skipif(not os.environ.get("COMFYUI_SOURCE"), reason="set COMFYUI_SOURCE to a ComfyUI source archive "
                    "(.tar.gz) to check the fixture's folder list against that release's folder_paths.py")
def test_the_fixture_lists_the_folders_of_a_real_comfyui():
    found = folder_names(os.environ["COMFYUI_SOURCE"]) - {"custom_nodes"}
    assert found, "no folder found: the reader needs updating"
    assert found <= KNOWN, f"in {pathlib.Path(os.environ['COMFYUI_SOURCE']).name}, not in the fixture: {found - KNOWN}"
