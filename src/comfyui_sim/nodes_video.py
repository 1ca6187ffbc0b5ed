"""Video nodes like video_webm_mp4.json; no video encoder exists here, so the files are stand-ins.

SaveWEBM writes a real EBML header (DocType webm) and a Segment with Info and a VP9/AV1 track entry but no
clusters; SaveVideo writes an ISO BMFF file with the recorded `ftyp` box and the frames as PNGs in an `mdat`
box (no `moov`: not playable). Names, folders, `ui` shape and `/view` content types are the real ones.
"""

import os
import struct

from .nodes_save import HIDDEN, png_bytes
from .paths import save_path
from .registry import FLOAT, STRING, node


class Video:
    """CreateVideo's VIDEO: frames, a frame rate and an optional AUDIO."""

    def __init__(self, images, fps: float, audio=None) -> None:
        self.images, self.fps, self.audio = images, fps, audio


def ebml(element_id: int, payload: bytes) -> bytes:
    size = len(payload)
    length = next(n for n in range(1, 9) if size < (1 << (7 * n)) - 1)
    head = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return head + ((1 << (7 * length)) | size).to_bytes(length, "big") + payload


def uint(element_id: int, value: int) -> bytes:
    return ebml(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def webm(images, fps: float, codec: str) -> bytes:
    # video_webm_mp4.json: the file starts 1a45dfa3 9f 4286 81 01 42f7 81 01
    header = ebml(
        0x1A45DFA3,
        uint(0x4286, 1)
        + uint(0x42F7, 1)
        + uint(0x42F2, 4)
        + uint(0x42F3, 8)
        + ebml(0x4282, b"webm")
        + uint(0x4287, 4)
        + uint(0x4285, 2),
    )
    duration = struct.pack(">d", 1000.0 * len(images) / fps)
    info = ebml(
        0x1549A966,
        uint(0x2AD7B1, 1000000) + ebml(0x4D80, b"comfyui_sim") + ebml(0x5741, b"comfyui_sim") + ebml(0x4489, duration),
    )
    width, height = images[0].size
    track = ebml(
        0xAE,
        uint(0xD7, 1)
        + uint(0x73C5, 1)
        + uint(0x83, 1)
        + ebml(0x86, b"V_VP9" if codec == "vp9" else b"V_AV1")
        + ebml(0xE0, uint(0xB0, width) + uint(0xBA, height)),
    )
    return header + ebml(0x18538067, info + ebml(0x1654AE6B, track))


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(video: Video) -> bytes:
    # video_webm_mp4.json: 00000020 66747970 69736f6d (ftyp isom)
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    return ftyp + box(b"free", b"") + box(b"mdat", b"".join(png_bytes(picture) for picture in video.images))


def save_animation(ctx, prefix: str, ext: str, data: bytes) -> dict:
    folder, name, counter, subfolder = save_path(prefix, ctx.dirs.output)
    filename = f"{name}_{counter:05}_.{ext}"
    with open(os.path.join(folder, filename), "wb") as target:
        target.write(data)
    # video_webm_mp4.json: videos are listed under `images` with "animated": [true]
    return {"ui": {"images": [{"filename": filename, "subfolder": subfolder, "type": "output"}], "animated": [True]}}


@node(
    "SaveWEBM",
    required={
        "images": ["IMAGE"],
        "filename_prefix": STRING("ComfyUI"),
        "codec": [["vp9", "av1"]],
        "fps": FLOAT(24.0, 0.01, 1000.0, 0.01),
        "crf": FLOAT(
            32.0,
            0,
            63.0,
            1,
            tooltip="Higher crf means lower quality with a smaller "
            "file size, lower crf means higher quality "
            "higher filesize.",
        ),
    },
    hidden=HIDDEN,
    output_node=True,
    category="image/video",
    python_module="comfy_extras.nodes_video",
)
def save_webm(ctx, images, filename_prefix, codec, fps, crf):
    return save_animation(ctx, filename_prefix, "webm", webm(images, fps, codec))


@node(
    "CreateVideo",
    required={
        "images": ["IMAGE", {"tooltip": "The images to create a video from."}],
        "fps": FLOAT(30.0, 1.0, 120.0, 1.0),
    },
    optional={"audio": ["AUDIO", {"tooltip": "The audio to add to the video."}]},
    output=("VIDEO",),
    category="image/video",
    python_module="comfy_extras.nodes_video",
)
def create_video(ctx, images, fps, audio=None):
    return (Video(images, fps, audio),)


@node(
    "SaveVideo",
    required={
        "video": ["VIDEO", {"tooltip": "The video to save."}],
        "filename_prefix": STRING("video/ComfyUI"),
        "format": ["COMBO", {"multiselect": False, "options": ["auto", "mp4"], "default": "auto"}],
        "codec": ["COMBO", {"multiselect": False, "options": ["auto", "h264"], "default": "auto"}],
    },
    hidden=HIDDEN,
    output_node=True,
    category="image/video",
    python_module="comfy_extras.nodes_video",
)
def save_video(ctx, video, filename_prefix, format, codec):
    return save_animation(ctx, filename_prefix, "mp4", mp4(video))
