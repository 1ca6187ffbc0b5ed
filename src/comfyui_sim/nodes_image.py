"""Image nodes done for real with Pillow: an IMAGE is a batch (list) of RGB images, a MASK a batch of "L" images."""

import hashlib
import os
import random
import struct
from statistics import NormalDist

from PIL import Image, ImageChops, ImageFilter, ImageOps

from .registry import FLOAT, INT, node

MAX_RES = 16384
CHANNELS = ["red", "green", "blue", "alpha"]


class Batch(list):
    """A batch of images; printed like a tensor in execution_error current_inputs (execution_error.json)."""

    def __str__(self) -> str:
        if not self:
            return "tensor([])"
        w, h = self[0].size
        depth = 3 if self[0].mode == "RGB" else None
        shape = [len(self), h, w] + ([depth] if depth else [])
        return f"tensor(<image batch of shape {shape}>)"


def rgb(color: int) -> tuple:
    return (color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF


@node(
    "EmptyImage",
    required={
        "width": INT(512, 1, MAX_RES, step=1),
        "height": INT(512, 1, MAX_RES, step=1),
        "batch_size": INT(1, 1, 4096),
        "color": INT(0, 0, 0xFFFFFF, step=1, display="color"),
    },
    output=("IMAGE",),
)
def empty_image(ctx, width, height, batch_size, color):
    image = Image.new("RGB", (width, height), rgb(color))
    return (Batch([image] * batch_size),)


def _input_files(dirs) -> list:
    return [sorted(dirs.input_files()), {"image_upload": True}]


def _file_hash(inputs, ctx) -> str:
    with open(ctx.dirs.input_path(inputs["image"]), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _image_exists(dirs, image) -> object:
    return True if dirs.input_exists(image) else f"Invalid image file: {image}"


@node(
    "LoadImage",
    required={"image": _input_files},
    output=("IMAGE", "MASK"),
    is_changed=_file_hash,
    validate=_image_exists,
    validate_inputs=("image",),
)
def load_image(ctx, image):
    with Image.open(ctx.dirs.input_path(image)) as src:
        src = ImageOps.exif_transpose(src)
        picture = src.convert("RGB")
        mask = ImageOps.invert(src.getchannel("A")) if "A" in src.getbands() else Image.new("L", (64, 64), 0)
    return Batch([picture]), Batch([mask])


def _input_subfolders(dirs) -> list:
    """folder_paths.get_input_subfolders: every folder under input/, recursively, with '/' separators."""
    return [dirs.input_subfolders(), {"tooltip": "The folder to load images from."}]


@node(
    "LoadImageSetFromFolderNode",
    required={"folder": _input_subfolders},
    optional={"resize_method": [["None", "Stretch", "Crop", "Pad"], {"default": "None"}]},
    output=("IMAGE",),
    category="loaders",
    python_module="comfy_extras.nodes_train",
)
def load_image_set_from_folder(ctx, folder, resize_method="None"):
    """comfy_extras/nodes_train.py: every .png/.jpg/.jpeg/.webp directly in input/<folder>, as one batch."""
    base = ctx.dirs.input_path(folder)
    names = sorted(n for n in os.listdir(base) if n.lower().endswith((".png", ".jpg", ".jpeg", ".webp")))
    pictures = []
    for name in names:
        with Image.open(os.path.join(base, name)) as src:
            pictures.append(src.convert("RGB"))
    return (Batch(pictures),)


def _f32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


# ComfyUI computes 1.0 - pixel in float32 and SaveImage truncates 255 * x to uint8, so 128 becomes 126, not
# 127 (a contract run against ComfyUI 0.3.64 showed it).
_INVERT = [int(min(255.0, max(0.0, _f32(255.0 * _f32(1.0 - _f32(v / 255.0)))))) for v in range(256)]


@node("ImageInvert", required={"image": ["IMAGE"]}, output=("IMAGE",))
def image_invert(ctx, image):
    return (Batch(i.point(_INVERT * len(i.getbands())) for i in image),)


@node(
    "ImageBlur",
    required={"image": ["IMAGE"], "blur_radius": INT(1, 1, 31, step=1), "sigma": FLOAT(1.0, 0.1, 10.0, 0.1)},
    output=("IMAGE",),
    category="image/postprocessing",
    python_module="comfy_extras.nodes_post_processing",
)
def image_blur(ctx, image, blur_radius, sigma):
    return (Batch(i.filter(ImageFilter.GaussianBlur(sigma)) for i in image),)


@node(
    "ImageAddNoise",
    required={
        "image": ["IMAGE"],
        "seed": INT(0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
        "strength": FLOAT(0.5, 0.0, 1.0, 0.01),
    },
    output=("IMAGE",),
    python_module="comfy_extras.nodes_images",
)
def image_add_noise(ctx, image, seed, strength):
    """clip(image + strength * randn) like ComfyUI's: seeded uniform bytes mapped through the normal quantile,
    so the 2048² PNG of big_2048.json has the real one's size and cost (PROTOCOL.md fact 20)."""
    rng, sigma = random.Random(seed), strength * 255.0
    quantiles = [NormalDist().inv_cdf((u + 0.5) / 256) * sigma for u in range(256)]
    up = [min(255, max(0, round(q))) for q in quantiles] * 3
    down = [min(255, max(0, round(-q))) for q in quantiles] * 3
    out = Batch()
    for picture in image:
        uniform = Image.frombytes("RGB", picture.size, rng.randbytes(picture.width * picture.height * 3))
        raised = ImageChops.add(picture, uniform.point(up))
        out.append(ImageChops.subtract(raised, uniform.point(down)))
    return (out,)


SCALE_METHODS = {
    "nearest-exact": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@node(
    "ImageScale",
    required={
        "image": ["IMAGE"],
        "upscale_method": [list(SCALE_METHODS)],
        "width": INT(512, 0, MAX_RES, step=1),
        "height": INT(512, 0, MAX_RES, step=1),
        "crop": [["disabled", "center"]],
    },
    output=("IMAGE",),
    category="image/upscaling",
)
def image_scale(ctx, image, upscale_method, width, height, crop):
    def scale(picture):
        w = width or round(picture.width * height / picture.height)
        h = height or round(picture.height * width / picture.width)
        if crop == "center":
            return ImageOps.fit(picture, (w, h), SCALE_METHODS[upscale_method])
        return picture.resize((w, h), SCALE_METHODS[upscale_method])

    return (Batch(scale(p) for p in image),)


@node(
    "ImageToMask",
    required={"image": ["IMAGE"], "channel": [CHANNELS]},
    output=("MASK",),
    category="mask",
    python_module="comfy_extras.nodes_mask",
)
def image_to_mask(ctx, image, channel):
    index = CHANNELS.index(channel)
    if index >= 3:
        raise IndexError(f"index {index} is out of bounds for dimension 3 with size 3")
    return (Batch(p.getchannel(index) for p in image),)


@node(
    "SolidMask",
    required={
        "value": FLOAT(1.0, 0.0, 1.0, 0.01),
        "width": INT(512, 1, MAX_RES, step=1),
        "height": INT(512, 1, MAX_RES, step=1),
    },
    output=("MASK",),
    category="mask",
    python_module="comfy_extras.nodes_mask",
)
def solid_mask(ctx, value, width, height):
    return (Batch([Image.new("L", (width, height), round(value * 255))]),)


@node(
    "GetImageSize",
    required={"image": ["IMAGE"]},
    output=("INT", "INT", "INT"),
    output_name=("width", "height", "batch_size"),
    python_module="comfy_extras.nodes_images",
)
def get_image_size(ctx, image):
    width, height = image[0].size
    # misc_outputs.json: a TEXT binary frame with this exact text, sent to every socket
    ctx.text(f"width: {width}, height: {height}\n batch size: {len(image)}")
    return width, height, len(image)
