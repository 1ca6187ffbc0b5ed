"""Made-up nodes for tests: a model-free sampler with previews, a custom-key output node, a node that stalls and a
node that reports a file it did not write."""

import io
import os
import random
import time

from PIL import Image

from .nodes_image import Batch
from .nodes_save import HIDDEN, pnginfo
from .paths import save_path
from .registry import FLOAT, INT, STRING, node

PREVIEW_SIZE = 64


def jpeg_preview(rng: random.Random) -> bytes:
    noise = Image.frombytes("RGB", (PREVIEW_SIZE, PREVIEW_SIZE), rng.randbytes(PREVIEW_SIZE * PREVIEW_SIZE * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@node(
    "SimKSampler",
    required={
        "latent_image": ["LATENT"],
        "seed": INT(0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
        "steps": INT(20, 1, 10000),
        "seconds_per_step": FLOAT(0.0, 0.0, 60.0, 0.01),
    },
    output=("LATENT",),
    category="sampling",
    python_module="custom_nodes.comfyui_sim",
)
def sim_ksampler(ctx, latent_image, seed, steps, seconds_per_step):
    """Like KSampler's callback: `progress` 1..steps, each with a JPEG latent preview (event 1, or 4 with
    metadata); the result carries noise pixels, so the pixel_space VAEDecode turns it into an image."""
    rng = random.Random(seed)
    batch, _, height, width = latent_image["shape"]
    if "pixels" in latent_image:
        width, height = latent_image["pixels"][0].size
    else:
        width, height = width * 8, height * 8
    for step in range(1, steps + 1):
        if seconds_per_step:
            time.sleep(seconds_per_step)
        ctx.progress(step, steps, png=jpeg_preview(rng), jpeg=True)
    pixels = Batch(Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)) for _ in range(batch))
    return ({"shape": (batch, 3, height, width), "pixels": pixels},)


@node(
    "SimSaveCustom",
    required={"images": ["IMAGE"], "filename_prefix": STRING("custom/ComfyUI")},
    hidden=HIDDEN,
    output_node=True,
    category="custom",
    python_module="custom_nodes.comfyui_sim",
)
def sim_save_custom(ctx, images, filename_prefix):
    """A custom node that lists its files under its own ui key, `my_files`."""
    folder, name, counter, subfolder = save_path(filename_prefix, ctx.dirs.output)
    files = []
    for index, picture in enumerate(images):
        filename = f"{name}_{counter + index:05}_.png"
        picture.save(os.path.join(folder, filename), pnginfo=pnginfo(ctx), compress_level=4)
        files.append({"filename": filename, "subfolder": subfolder, "type": "output"})
    return {"ui": {"my_files": files}}


@node(
    "SimStall",
    required={"image": ["IMAGE"]},
    output=("IMAGE",),
    category="custom",
    python_module="custom_nodes.comfyui_sim",
)
def sim_stall(ctx, image):
    """Never finishes and sends nothing until interrupted (or the server stops): a hung node."""
    while True:
        ctx.check_interrupt()
        time.sleep(0.02)


@node(
    "SimReportFile",
    required={
        "filename": STRING("ComfyUI_00001_.png"),
        "subfolder": STRING(""),
        "folder_type": [["output", "temp"], {"default": "output"}],
    },
    output_node=True,
    category="custom",
    python_module="custom_nodes.comfyui_sim",
)
def sim_report_file(ctx, filename, subfolder, folder_type):
    """A custom node whose result names a file that is already there (someone else's): it writes nothing."""
    return {"ui": {"images": [{"filename": filename, "subfolder": subfolder, "type": folder_type}]}}
