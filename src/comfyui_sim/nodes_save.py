"""Output nodes: files under output/ or temp/ named like ComfyUI's, and their `ui` dicts for executed/history."""

import io
import json
import os
import random
import time

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from .paths import save_path
from .registry import FLOAT, INT, STRING, node

HIDDEN = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}
PREFIX = STRING(
    "ComfyUI",
    tooltip="The prefix for the file to save. This may include formatting information such as "
    "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.",
)


def png_bytes(picture: Image.Image, level: int = 1) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def pnginfo(ctx) -> PngInfo:
    info = PngInfo()
    info.add_text("prompt", json.dumps(ctx.prompt))
    for key, value in (ctx.extra_pnginfo or {}).items():
        info.add_text(key, json.dumps(value))
    return info


def save_pngs(ctx, images, prefix: str, kind: str, level: int) -> list:
    folder, name, counter, subfolder = save_path(prefix, ctx.dirs.by_type(kind))
    results = []
    for picture in images:
        filename = f"{name}_{counter:05}_.png"
        picture.save(os.path.join(folder, filename), pnginfo=pnginfo(ctx), compress_level=level)
        results.append({"filename": filename, "subfolder": subfolder, "type": kind})
        counter += 1
    return results


def temp_prefix() -> str:
    """PreviewImage's random prefix, `ComfyUI_temp_xxxxx` (preview_image.json)."""
    return "ComfyUI_temp_" + "".join(random.choice("abcdefghijklmnopqrstupvxyz") for _ in range(5))


@node(
    "SaveImage",
    required={"images": ["IMAGE", {"tooltip": "The images to save."}], "filename_prefix": PREFIX},
    hidden=HIDDEN,
    output_node=True,
    display_name="Save Image",
    description="Saves the input images to your ComfyUI output directory.",
)
def save_image(ctx, images, filename_prefix):
    return {"ui": {"images": save_pngs(ctx, images, filename_prefix, "output", 4)}}


@node(
    "PreviewImage",
    required={"images": ["IMAGE"]},
    hidden=HIDDEN,
    output_node=True,
    display_name="Preview Image",
    description="Saves the input images to your ComfyUI output directory.",
)
def preview_image(ctx, images):
    # cached_rerun.json: PreviewImage's ui has only `images`, no `animated`
    return {"ui": {"images": save_pngs(ctx, images, temp_prefix(), "temp", 1)}}


@node(
    "MaskPreview",
    required={"mask": ["MASK"]},
    hidden=HIDDEN,
    output_node=True,
    category="mask",
    python_module="comfy_extras.nodes_mask",
)
def mask_preview(ctx, mask):
    images = [m.convert("RGB") for m in mask]
    # misc_outputs.json: MaskPreview adds "animated": [false]
    return {"ui": {"images": save_pngs(ctx, images, temp_prefix(), "temp", 1), "animated": [False]}}


@node(
    "SaveImageWebsocket",
    required={"images": ["IMAGE"]},
    output_node=True,
    category="api node/image",
    python_module="custom_nodes.websocket_image_save",
    is_changed=lambda inputs, ctx: time.time(),
)
def save_image_websocket(ctx, images):
    for step, picture in enumerate(images):
        # save_image_websocket.json: progress value counts from 0, one binary frame per image, nothing in history
        ctx.progress(step, len(images), png=png_bytes(picture))
    return {}


def animated_entry(ctx, images, prefix, ext, save) -> dict:
    folder, name, counter, subfolder = save_path(prefix, ctx.dirs.output)
    filename = f"{name}_{counter:05}_.{ext}"
    save(os.path.join(folder, filename))
    return {"images": [{"filename": filename, "subfolder": subfolder, "type": "output"}], "animated": [True]}


@node(
    "SaveAnimatedWEBP",
    required={
        "images": ["IMAGE"],
        "filename_prefix": STRING("ComfyUI"),
        "fps": FLOAT(6.0, 0.01, 1000.0, 0.01),
        "lossless": ["BOOLEAN", {"default": True}],
        "quality": INT(80, 0, 100),
        "method": [["default", "fastest", "slowest"]],
    },
    hidden=HIDDEN,
    output_node=True,
    category="image/animation",
)
def save_animated_webp(ctx, images, filename_prefix, fps, lossless, quality, method):
    effort = {"default": 4, "fastest": 0, "slowest": 6}[method]
    return {
        "ui": animated_entry(
            ctx,
            images,
            filename_prefix,
            "webp",
            lambda path: images[0].save(
                path,
                format="WEBP",
                save_all=True,
                append_images=list(images[1:]),
                duration=int(1000.0 / fps),
                lossless=lossless,
                quality=quality,
                method=effort,
            ),
        )
    }


@node(
    "SaveAnimatedPNG",
    required={
        "images": ["IMAGE"],
        "filename_prefix": STRING("ComfyUI"),
        "fps": FLOAT(6.0, 0.01, 1000.0, 0.01),
        "compress_level": INT(4, 0, 9),
    },
    hidden=HIDDEN,
    output_node=True,
    category="image/animation",
)
def save_animated_png(ctx, images, filename_prefix, fps, compress_level):
    return {
        "ui": animated_entry(
            ctx,
            images,
            filename_prefix,
            "png",
            lambda path: images[0].save(
                path,
                format="PNG",
                save_all=True,
                append_images=list(images[1:]),
                duration=int(1000.0 / fps),
                compress_level=compress_level,
            ),
        )
    }


def safetensors(tensors: dict, metadata: dict) -> bytes:
    """A safetensors file of F32 zeros (misc_outputs.json: SaveLatent's file starts with a u64 header size)."""
    header, offset = {"__metadata__": metadata}, 0
    for name, shape in tensors.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    return len(blob).to_bytes(8, "little") + blob + bytes(offset)


@node(
    "SaveLatent",
    required={"samples": ["LATENT"], "filename_prefix": STRING("latents/ComfyUI")},
    hidden=HIDDEN,
    output_node=True,
    category="_for_testing",
)
def save_latent(ctx, samples, filename_prefix):
    folder, name, counter, subfolder = save_path(filename_prefix, ctx.dirs.output)
    filename = f"{name}_{counter:05}_.latent"
    tensors = {"latent_tensor": samples["shape"], "latent_format_version_0": (0,)}
    with open(os.path.join(folder, filename), "wb") as f:
        f.write(safetensors(tensors, {"prompt": json.dumps(ctx.prompt)}))
    return {"ui": {"latents": [{"filename": filename, "subfolder": subfolder, "type": "output"}]}}


@node(
    "PreviewAny",
    required={"source": ["*", {}]},
    output_node=True,
    category="utils",
    display_name="Preview as Text",
    python_module="comfy_extras.nodes_preview_any",
)
def preview_any(ctx, source=None):
    if isinstance(source, str):
        value = source
    elif isinstance(source, (int, float, bool)):
        value = str(source)
    elif source is None:
        value = "None"
    else:
        try:
            value = json.dumps(source)
        except (TypeError, ValueError):
            value = str(source)
    return {"ui": {"text": [value]}}
