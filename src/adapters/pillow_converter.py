"""Re-encodes still images for `input.output_format` with Pillow, imported only when a job asks for it."""

from __future__ import annotations

import functools
import io
import logging
import warnings
from typing import Any

from domain.errors import InvalidInput, OutputNotConverted
from domain.model import OutputFormat

log = logging.getLogger(__name__)

DEFAULT_QUALITY = 95
DEFAULT_MAX_PIXELS = 50_000_000  # decoding takes 4 bytes a pixel (RGB is padded), and re-encoding a few more
_PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")
_WHITE = (255, 255, 255)


class PillowImageConverter:
    """Implements the `ImageConverter` port for png, jpeg and webp, decoding at most `max_pixels` a picture."""

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self._max_pixels = max_pixels

    def convert(self, data: bytes, target: OutputFormat) -> bytes:
        """`target` was validated when the request was read; its quality defaults to DEFAULT_QUALITY."""
        quality = DEFAULT_QUALITY if target.quality is None else target.quality
        with _open_still(data, self._max_pixels) as image:
            before = f"{image.format} {image.mode} {image.width}x{image.height}"
            encoded = _encode(image, target.format, quality)
        log.debug("converted %s (%d bytes) to %s (%d bytes)", before, len(data), target.format, len(encoded))
        return encoded


def _open_still(data: bytes, max_pixels: int) -> Any:
    """The image opened and decoded; `InvalidInput` if Pillow cannot read it or it has several frames,
    `OutputNotConverted` if its header gives it more than `max_pixels` (then nothing is decoded)."""
    from PIL import Image

    image = _open_within(data, max_pixels)
    try:
        image.load()
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        image.close()
        raise InvalidInput(f"cannot convert: the {image.format} image cannot be decoded ({exc})") from exc
    return image


def _open_within(data: bytes, max_pixels: int) -> Any:
    """The image opened, its size read from the header; `OutputNotConverted` if it has more than `max_pixels`."""
    from PIL import Image

    # Pillow checks at open: a warning beyond MAX_IMAGE_PIXELS, DecompressionBombError beyond twice it. With its
    # limit set to ours, what it refuses is over ours too; ours refuses the rest before decoding, naming the size.
    Image.MAX_IMAGE_PIXELS = max_pixels
    _quiet_bomb_warnings()
    try:
        image = _open_single_frame(data)
    except InvalidInput as exc:
        if isinstance(exc.__cause__, Image.DecompressionBombError):
            raise _over(max_pixels, "the image") from exc
        raise
    if image.width * image.height > max_pixels:
        image.close()
        raise _over(max_pixels, f"{image.width}x{image.height}")
    return image


@functools.cache
def _quiet_bomb_warnings() -> None:
    """Once: Pillow's warning would reach stderr, outside the job's log lines, for an image refused anyway."""
    from PIL import Image

    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def _over(max_pixels: int, what: str) -> OutputNotConverted:
    return OutputNotConverted(f"{what} is over OUTPUT_FORMAT_MAX_PIXELS ({max_pixels:,} pixels)")


def _open_single_frame(data: bytes) -> Any:
    """The image opened (headers read, pixels not yet decoded); `InvalidInput` if unreadable or animated."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise InvalidInput(f"cannot convert: the {len(data)} bytes are not an image Pillow can read") from exc
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"cannot convert: the image cannot be read ({exc})") from exc
    try:
        frames = getattr(image, "n_frames", 1)
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        image.close()
        raise InvalidInput(f"cannot convert: the {image.format} image's frames cannot be read ({exc})") from exc
    if frames > 1:
        image.close()
        raise InvalidInput(
            f"cannot convert an animated {image.format} ({frames} frames): only still images are converted"
        )
    return image


def _encode(image: Any, target: str, quality: int) -> bytes:
    options: dict[str, Any] = {}
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        options["icc_profile"] = icc_profile
    if target == "jpeg":
        image = _without_alpha(image)
        options.update(quality=quality)
    elif target == "webp":
        image = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if _has_alpha(image) else "RGB")
        options.update(quality=quality)
    else:
        image = image if image.mode in _PNG_MODES else image.convert("RGBA" if _has_alpha(image) else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=target.upper(), **options)
    return buffer.getvalue()


def _has_alpha(image: Any) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _without_alpha(image: Any) -> Any:
    """An RGB (or L) image for JPEG: transparent parts are laid on white."""
    from PIL import Image

    if _has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode in ("RGB", "L") else image.convert("RGB")
