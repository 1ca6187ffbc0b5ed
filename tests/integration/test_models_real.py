"""Contract run (COMFY_TEST_URL): models on demand against a real ComfyUI on this machine.

A checkpoint written as CheckpointLoaderSimple's URL and a LoRA listed in input.models (a few real SD1.5 key names,
random weights) are downloaded from a loopback file server into a folder ComfyUI reads models from, seen by ComfyUI
without a restart, and loaded by a KSampler run; the LoRA changes the image, and the next job downloads nothing.
Needs an SD1.5 checkpoint in the server's checkpoints folder (the random one the project's tooling builds will do).
"""
import asyncio
import base64
import hashlib
import json
import os
import random
import struct
import uuid

import pytest
import requests

from contract import COMFY_TEST_URL, real_comfy
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from file_server import FileServer

pytestmark = pytest.mark.skipif(not COMFY_TEST_URL, reason="needs a real ComfyUI (COMFY_TEST_URL) on this machine")

# SD1.5 weights a LoRA may change: UNet attention of the first transformer block, and the text encoder's first layer
LORA_TARGETS = {
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight":
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q",
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_v.weight":
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_v",
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight":
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k",
    "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight":
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
}
RANK = 4


@pytest.fixture(scope="module")
def comfy():
    server = real_comfy()
    paths = requests.get(f"{server.base_url}/internal/folder_paths", timeout=30).json()
    info = requests.get(f"{server.base_url}/object_info/CheckpointLoaderSimple", timeout=30).json()
    return server, paths, info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]


def download_dir(paths: dict) -> str:
    """A folder whose checkpoints/ and loras/ ComfyUI both reads: an extra one (extra_model_paths.yaml) if there is
    one, else ComfyUI's own models folder (never its output folder, which it also reads checkpoints and LoRAs from)."""
    bases = [os.path.dirname(path) for path in paths["checkpoints"]
             if os.path.basename(path) == "checkpoints" and os.path.join(os.path.dirname(path), "loras") in paths["loras"]
             and os.path.basename(os.path.dirname(path)) != "output"]
    writable = [base for base in bases if os.access(base, os.W_OK)]
    if not writable:
        pytest.skip("ComfyUI reads no writable folder with checkpoints/ and loras/ on this machine")
    return writable[-1]


def sd15_checkpoint(paths: dict, listed: list) -> str:
    for name in listed:
        if "sd15" in name.lower() or "v1-5" in name.lower():
            for folder in paths["checkpoints"]:
                if os.path.isfile(os.path.join(folder, name)):
                    return os.path.join(folder, name)
    pytest.skip("the server has no SD1.5 checkpoint on this machine")


def header(path: str) -> dict:
    """A .safetensors file's header: 8 bytes of little-endian length, then JSON (name -> dtype, shape, offsets)."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        return json.loads(handle.read(length))


def safetensors_bytes(tensors: dict) -> bytes:
    """float32 tensors (name -> (shape, values)) in the .safetensors layout."""
    meta, body, offset = {}, b"", 0
    for name, (shape, values) in tensors.items():
        data = struct.pack(f"<{len(values)}f", *values)
        meta[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        body += data
        offset += len(data)
    head = json.dumps(meta).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + body


def sd15_lora(checkpoint: str) -> bytes:
    """A rank-4 LoRA of the checkpoint's own shapes for LORA_TARGETS, in kohya's key names, random weights."""
    shapes = header(checkpoint)
    rng = random.Random(7)
    tensors = {}
    for weight, name in LORA_TARGETS.items():
        out_features, in_features = shapes[weight]["shape"]
        tensors[f"{name}.lora_down.weight"] = ([RANK, in_features], [rng.gauss(0, 0.5) for _ in range(RANK * in_features)])
        tensors[f"{name}.lora_up.weight"] = ([out_features, RANK], [rng.gauss(0, 0.5) for _ in range(out_features * RANK)])
        tensors[f"{name}.alpha"] = ([], [float(RANK)])
    return safetensors_bytes(tensors)


def text_to_image(checkpoint: str, lora: str, strength: float) -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": lora,
                                                      "strength_model": strength, "strength_clip": strength}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["10", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["10", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {"model": ["10", 0], "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0], "seed": 42, "steps": 2, "cfg": 7.0,
                                                   "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "models_on_demand"}},
    }


def test_a_checkpoint_and_a_lora_fetched_by_url_are_loaded_by_a_ksampler_run(comfy):
    server, paths, listed = comfy
    root = download_dir(paths)
    checkpoint = sd15_checkpoint(paths, listed)
    tag = uuid.uuid4().hex[:10]
    lora = sd15_lora(checkpoint)
    names = {"checkpoints": f"fetched-{tag}.safetensors", "loras": f"lora-{tag}.safetensors"}
    handler = make_handler(build_container({"COMFY_HOST": server.host, "MODEL_DOWNLOAD_DIR": root,
                                            "INPUT_URL_ALLOW_PRIVATE": "true", "JOB_TIMEOUT_S": "600"}))
    try:
        with FileServer() as files:
            checkpoint_url = files.serve(f"/ckpt/{names['checkpoints']}", file=checkpoint)
            lora_url = files.serve(f"/lora/{names['loras']}", lora)
            models = [{"url": lora_url + "?download=true", "folder": "loras", "sha256": hashlib.sha256(lora).hexdigest()}]

            def run(strength: float, job_id: str) -> dict:
                workflow = text_to_image(checkpoint_url, names["loras"], strength)
                return asyncio.run(handler({"id": job_id, "input": {"workflow": workflow, "models": models}}))

            with_lora = run(1.0, "lora-on")
            assert "error" not in with_lora, with_lora
            assert [(m["folder"], m["name"], m["outcome"]) for m in with_lora["models"]] == [
                ("loras", names["loras"], "downloaded"), ("checkpoints", names["checkpoints"], "downloaded")]
            without = run(0.0, "lora-off")
            assert "error" not in without, without
            assert [m["outcome"] for m in without["models"]] == ["cached", "cached"]
            assert len(files.requests_for(f"/ckpt/{names['checkpoints']}")) == 1
        image_on, image_off = (base64.b64decode(answer["images"][0]["data"]) for answer in (with_lora, without))
        assert image_on != image_off  # the LoRA's weights reached the sampler
    finally:
        for folder, name in names.items():
            path = os.path.join(root, folder, name)
            if os.path.exists(path):
                os.unlink(path)  # the file only: a model folder ComfyUI listed stays
