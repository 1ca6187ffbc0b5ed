"""Re-encodes still images for `input.output_format` with Pillow, imported only when a job asks for it."""

from __future__ import annotations

import io
import logging
from typing import Any, Optional

from adapters.file_types import extension_for_format, sniff_extension
from domain.errors import InvalidInput

log = logging.getLogger(__name__)

DEFAULT_QUALITY = 95
_IMAGE_EXTENSIONS = (".png", ".jpg", ".webp", ".gif")
_PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")
_WHITE = (255, 255, 255)


class PillowImageConverter:
    """Implements the `ImageConverter` port for png, jpeg and webp."""

    def convert(self, data: bytes, image_format: str, quality: Optional[int] = None) -> bytes:
        target = image_format.lower() if isinstance(image_format, str) else image_format
        extension_for_format(target)  # refuses an unknown format
        quality = _checked_quality(quality)
        with _open_still(data) as image:
            before = f"{image.format} {image.mode} {image.width}x{image.height}"
            encoded = _encode(image, target, quality)
        log.debug("converted %s (%d bytes) to %s (%d bytes)", before, len(data), target, len(encoded))
        return encoded


def is_still_image(data: bytes) -> bool:
    """Whether `data` is a single-frame PNG, JPEG, WEBP or GIF that Pillow can read."""
    extension = sniff_extension(data)
    if extension not in _IMAGE_EXTENSIONS:
        return False
    try:
        with _open_single_frame(data):
            return True
    except InvalidInput:
        return False


def _checked_quality(quality: Optional[int]) -> int:
    if quality is None:
        return DEFAULT_QUALITY
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise InvalidInput(f"output_format quality must be a whole number from 1 to 100, not {quality!r}")
    return quality


def _open_still(data: bytes) -> Any:
    """The image opened and decoded; `InvalidInput` if Pillow cannot read it or it has several frames."""
    from PIL import Image

    image = _open_single_frame(data)
    try:
        image.load()
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        image.close()
        raise InvalidInput(f"cannot convert: the {image.format} image cannot be decoded ({exc})") from exc
    return image


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
