"""Model files a test "installs" in the simulator: /models, loader lists in /object_info, validation against them;
files on disk listed as ComfyUI lists them."""
import os

import requests

from comfyui_sim import ComfySimulator


def checkpoint_prompt(name: str) -> dict:
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 2]}}}


def test_installed_models_are_listed_and_validated():
    with ComfySimulator(models={"checkpoints": ["sd_xl_base_1.0.safetensors"]}) as sim:
        url = sim.base_url
        assert requests.get(f"{url}/models/checkpoints", timeout=10).json() == ["sd_xl_base_1.0.safetensors"]
        assert requests.get(f"{url}/models/loras", timeout=10).json() == []
        info = requests.get(f"{url}/object_info/CheckpointLoaderSimple", timeout=10).json()
        assert info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] == ["sd_xl_base_1.0.safetensors"]
        assert requests.post(f"{url}/prompt", json={"prompt": checkpoint_prompt("sd_xl_base_1.0.safetensors")},
                             timeout=10).status_code == 200
        refused = requests.post(f"{url}/prompt", json={"prompt": checkpoint_prompt("other.safetensors")}, timeout=10)
        assert refused.status_code == 400
        error = refused.json()["node_errors"]["1"]["errors"][0]
        assert (error["type"], error["details"]) == (
            "value_not_in_list", "ckpt_name: 'other.safetensors' not in ['sd_xl_base_1.0.safetensors']")


def test_models_can_be_installed_later_in_the_new_combo_shape(comfy_sim):
    url = comfy_sim.base_url
    prompt = {"1": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x.pth"}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    assert requests.post(f"{url}/prompt", json={"prompt": prompt}, timeout=10).status_code == 400
    comfy_sim.models["upscale_models"] = ["4x.pth"]
    declared = requests.get(f"{url}/object_info/UpscaleModelLoader", timeout=10).json()
    assert declared["UpscaleModelLoader"]["input"]["required"]["model_name"] == \
        ["COMBO", {"multiselect": False, "options": ["4x.pth"]}]
    assert requests.post(f"{url}/prompt", json={"prompt": prompt}, timeout=10).status_code == 200
    vae = requests.get(f"{url}/object_info/VAELoader", timeout=10).json()["VAELoader"]["input"]["required"]
    assert vae["vae_name"] == [["pixel_space"]]
    comfy_sim.models["vae"] = ["ae.safetensors"]
    vae = requests.get(f"{url}/object_info/VAELoader", timeout=10).json()["VAELoader"]["input"]["required"]
    assert vae["vae_name"] == [["ae.safetensors", "pixel_space"]]


def test_files_on_disk_are_listed_as_comfyui_lists_them_and_the_listing_is_kept_until_a_folder_mtime_moves(tmp_path):
    extra = tmp_path / "downloads"
    (extra / "loras").mkdir(parents=True)
    with ComfySimulator(extra_models=str(extra)) as sim:
        url = sim.base_url
        paths = requests.get(f"{url}/internal/folder_paths", timeout=10).json()
        assert paths["loras"] == [f"{sim.dirs.root}/models/loras", str(extra / "loras")]
        assert paths["custom_nodes"] == [f"{sim.dirs.root}/custom_nodes"]
        own = sim.dirs.root + "/models/loras"
        with open(f"{own}/a.safetensors", "wb"), open(f"{own}/notes.txt", "wb"):
            pass
        (extra / "loras" / "sub").mkdir()
        (extra / "loras" / "sub" / "b.pt").write_bytes(b"x")
        assert requests.get(f"{url}/models/loras", timeout=10).json() == ["a.safetensors", "sub/b.pt"]
        walks = sim.dirs.model_paths.walks
        assert requests.get(f"{url}/models/loras", timeout=10).json() == ["a.safetensors", "sub/b.pt"]
        assert sim.dirs.model_paths.walks == walks  # unchanged folders: the cached list
        before = os.stat(extra / "loras" / "sub").st_mtime_ns
        (extra / "loras" / "sub" / "c.safetensors").write_bytes(b"y")
        os.utime(extra / "loras" / "sub", ns=(before, before))  # a file system too coarse to move the mtime
        assert "sub/c.safetensors" not in requests.get(f"{url}/models/loras", timeout=10).json()
        os.utime(extra / "loras" / "sub", ns=(before + 10**9, before + 10**9))
        assert "sub/c.safetensors" in requests.get(f"{url}/models/loras", timeout=10).json()
        lora = requests.get(f"{url}/object_info/LoraLoader", timeout=10).json()["LoraLoader"]["input"]["required"]
        assert lora["lora_name"][0] == ["a.safetensors", "sub/b.pt", "sub/c.safetensors"]


def test_a_model_folder_that_appears_later_is_listed_at_once(tmp_path):
    with ComfySimulator(extra_models=str(tmp_path)) as sim:
        assert requests.get(f"{sim.base_url}/models/vae", timeout=10).json() == []
        (tmp_path / "vae").mkdir()
        (tmp_path / "vae" / "ae.safetensors").write_bytes(b"z")
        assert requests.get(f"{sim.base_url}/models/vae", timeout=10).json() == ["ae.safetensors"]
