"""Audio nodes: EmptyAudio makes silence; SaveAudio* and PreviewAudio write files (see audio_files) like audio.json."""

import json
import os

from . import audio_files
from .nodes_save import HIDDEN, temp_prefix
from .paths import save_path
from .registry import FLOAT, INT, STRING, node

AUDIO_IN = {"audio": ["AUDIO", {}]}
MP3_QUALITY = ["V0", "128k", "320k"]
OPUS_QUALITY = ["64k", "96k", "128k", "192k", "320k"]


@node(
    "EmptyAudio",
    required={
        "duration": FLOAT(60.0, 0.0, 0xFFFFFFFFFFFFFFFF, 0.01, tooltip="Duration of the empty audio clip in seconds"),
        "sample_rate": INT(44100, 1, 192000, tooltip="Sample rate of the empty audio clip."),
        "channels": INT(2, 1, 2, tooltip="Number of audio channels (1 for mono, 2 for stereo)."),
    },
    output=("AUDIO",),
    category="audio",
    display_name="Empty Audio",
    python_module="comfy_extras.nodes_audio",
)
def empty_audio(ctx, duration, sample_rate, channels):
    return (audio_files.silence(duration, sample_rate, channels),)


def save_audio(ctx, audio, prefix: str, kind: str, ext: str, encode) -> dict:
    folder, name, counter, subfolder = save_path(prefix, ctx.dirs.by_type(kind))
    filename = f"{name}_{counter:05}_.{ext}"
    with open(os.path.join(folder, filename), "wb") as target:
        target.write(encode(audio))
    # audio.json: every audio node's ui (and history output) is {"audio": [{filename, subfolder, type}]}
    return {"ui": {"audio": [{"filename": filename, "subfolder": subfolder, "type": kind}]}}


def tags(ctx) -> dict:
    found = {"prompt": json.dumps(ctx.prompt)}
    found.update({key: json.dumps(value) for key, value in (ctx.extra_pnginfo or {}).items()})
    return found


def audio_node(name: str, **extra_inputs):
    return node(
        name,
        required={**AUDIO_IN, **extra_inputs},
        hidden=HIDDEN,
        output_node=True,
        category="audio",
        python_module="comfy_extras.nodes_audio",
    )


@audio_node("SaveAudio", filename_prefix=STRING("audio/ComfyUI"))
def save_flac(ctx, audio, filename_prefix):
    return save_audio(ctx, audio, filename_prefix, "output", "flac", lambda a: audio_files.flac(a, tags(ctx)))


@audio_node(
    "SaveAudioMP3",
    filename_prefix=STRING("audio/ComfyUI"),
    quality=["COMBO", {"multiselect": False, "options": MP3_QUALITY, "default": "V0"}],
)
def save_mp3(ctx, audio, filename_prefix, quality):
    kbps = 320 if quality == "320k" else 128
    return save_audio(ctx, audio, filename_prefix, "output", "mp3", lambda a: audio_files.mp3(a, kbps))


@audio_node(
    "SaveAudioOpus",
    filename_prefix=STRING("audio/ComfyUI"),
    quality=["COMBO", {"multiselect": False, "options": OPUS_QUALITY, "default": "128k"}],
)
def save_opus(ctx, audio, filename_prefix, quality):
    return save_audio(ctx, audio, filename_prefix, "output", "opus", audio_files.ogg_opus)


@audio_node("PreviewAudio")
def preview_audio(ctx, audio):
    # audio.json: PreviewAudio writes ComfyUI_temp_xxxxx_00001_.flac into temp/ with subfolder ""
    return save_audio(ctx, audio, temp_prefix(), "temp", "flac", lambda a: audio_files.flac(a, tags(ctx)))
