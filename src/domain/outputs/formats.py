"""The formats `input.output_format` may ask for: names, extensions and media types, the images converted, quality."""

from __future__ import annotations

from typing import Any, NamedTuple


class ImageFormat(NamedTuple):
    """What converted bytes are: their file extension and media type."""

    extension: str
    content_type: str


# in the order messages list them
IMAGE_FORMATS = {
    "png": ImageFormat(".png", "image/png"),
    "jpeg": ImageFormat(".jpg", "image/jpeg"),
    "webp": ImageFormat(".webp", "image/webp"),
}
FORMAT_ALIASES = {"jpg": "jpeg"}
# the extensions of the still images that are converted; other files are delivered as they are
CONVERTIBLE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp"})
MIN_QUALITY, MAX_QUALITY = 1, 100


def is_quality(value: Any) -> bool:
    """Whether `value` is a quality a format may be asked in: a whole number from 1 to 100, not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_QUALITY <= value <= MAX_QUALITY
