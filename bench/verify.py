"""Checks one answer: as many images as saved, each a valid PNG of the right size made by the right job."""
from __future__ import annotations

import base64
import io
import json
import tempfile
from typing import Any, Optional

import requests
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def problems_with(images: list[dict[str, Any]], expect: list[dict[str, Any]],
                  session: Optional[requests.Session] = None) -> list[str]:
    """Every way the answer differs from what the job asked for; empty when it is right."""
    if len(images) != len(expect):
        return [f"expected {len(expect)} images, got {len(images)}"]
    problems = []
    for wanted in expect:
        matching = [image for image in images if str(image.get("filename", "")).startswith(wanted["prefix"] + "_")]
        if len(matching) != 1:
            problems.append(f"expected one image named {wanted['prefix']}_*, got {len(matching)}")
            continue
        problems += _check_png(_open(matching[0], session), wanted)
    return problems


def _open(image: dict[str, Any], session: Optional[requests.Session]):
    """A file-like object with the image's bytes; an S3 URL is streamed to a temp file (little memory)."""
    if image.get("type") == "base64":
        return io.BytesIO(base64.b64decode(image["data"]))
    if image.get("type") == "s3_url":
        handle = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, which closes it)
        with (session or requests).get(image["data"], stream=True, timeout=60) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                handle.write(chunk)
        handle.seek(0)
        return handle
    raise ValueError(f"unknown output type {image.get('type')!r}")


def _check_png(handle, wanted: dict[str, Any]) -> list[str]:
    name = wanted["prefix"]
    with handle:
        if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return [f"{name}: not a PNG"]
        handle.seek(0)
        try:
            with Image.open(handle) as picture:
                size, info = list(picture.size), dict(picture.info)
                pixel = list(picture.convert("RGB").getpixel((0, 0))) if "color" in wanted else None
            handle.seek(0)
            with Image.open(handle) as picture:
                picture.verify()
        except Exception as exc:  # Pillow raises many kinds for a broken file
            return [f"{name}: invalid PNG ({type(exc).__name__}: {exc})"]
    if size != wanted["size"]:
        return [f"{name}: size {size}, expected {wanted['size']}"]
    if "color" in wanted and pixel != wanted["color"]:
        return [f"{name}: colour {pixel}, expected {wanted['color']} (another job's image?)"]
    if "seed" in wanted:
        # SaveImage embeds the prompt as a PNG text chunk `prompt` (ComfyUI does, and so does the simulator).
        try:
            seed = json.loads(info["prompt"])[wanted["seed_node"]]["inputs"]["seed"]
        except (KeyError, ValueError, TypeError):
            return [f"{name}: no prompt metadata to tell which job made it"]
        if seed != wanted["seed"]:
            return [f"{name}: seed {seed}, expected {wanted['seed']} (another job's image?)"]
    return []
