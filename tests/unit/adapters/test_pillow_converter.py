"""PillowImageConverter on images Pillow makes: formats, alpha, quality, refusals, lazy import."""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from adapters.file_types import sniff_extension
from adapters.pillow_converter import DEFAULT_QUALITY, PillowImageConverter
from domain.errors import InvalidInput, OutputNotConverted
from domain.model import OutputFormat
from domain.outputs.formats import IMAGE_FORMATS

SRC = Path(__file__).resolve().parents[3] / "src"


def _encode(image, image_format, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _noise(mode="RGB", size=(64, 48)):
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def _half_transparent_red(mode="RGBA"):
    """Left half opaque red, right half fully transparent."""
    image = Image.new("RGBA", (8, 4), (255, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 4, 4))
    return image if mode == "RGBA" else image.convert(mode)


def _animated(image_format):
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _convert(data, image_format, quality=None):
    return PillowImageConverter().convert(data, OutputFormat(image_format, quality))


def _open(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("image_format, pillow_name, extension", [
    ("png", "PNG", ".png"), ("jpeg", "JPEG", ".jpg"), ("webp", "WEBP", ".webp"),
])
@pytest.mark.parametrize("source_format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_every_still_source_converts_to_every_target(image_format, pillow_name, extension, source_format):
    source = _encode(Image.new("RGB", (20, 10), (10, 200, 30)), source_format)

    converted = _convert(source, image_format)

    assert sniff_extension(converted) == extension
    image = _open(converted)
    assert (image.format, image.size) == (pillow_name, (20, 10))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_jpeg_lays_transparent_pixels_on_white(mode):
    source = _encode(_half_transparent_red(mode), "PNG")

    image = _open(_convert(source, "jpeg"))

    assert image.mode in ("RGB", "L")
    opaque, transparent = image.convert("RGB").getpixel((1, 1)), image.convert("RGB").getpixel((6, 1))
    assert all(channel > 245 for channel in transparent), transparent
    if mode != "LA":
        assert opaque[0] > 200 and opaque[1] < 60 and opaque[2] < 60, opaque


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "1", "L"])
def test_modes_without_alpha_still_convert_to_every_target(mode):
    image = Image.new(mode, (6, 6))
    source = _encode(image, "JPEG" if mode == "CMYK" else "PNG")

    for image_format in ("png", "jpeg", "webp"):
        assert _open(_convert(source, image_format)).size == (6, 6)


def test_webp_keeps_the_alpha_channel():
    image = _open(_convert(_encode(_half_transparent_red(), "PNG"), "webp"))

    assert image.mode == "RGBA"
    assert image.getpixel((6, 1))[3] == 0 and image.getpixel((1, 1))[3] == 255


@pytest.mark.parametrize("image_format, pillow_name", [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_quality_defaults_to_95_and_is_honoured(image_format, pillow_name):
    noise = _noise()
    source = _encode(noise, "PNG")

    assert DEFAULT_QUALITY == 95
    assert _convert(source, image_format) == _encode(noise, pillow_name, quality=95)
    assert _convert(source, image_format, 20) == _encode(noise, pillow_name, quality=20)
    assert len(_convert(source, image_format, 20)) < len(_convert(source, image_format))


def test_png_ignores_quality_and_keeps_every_pixel():
    noise = _noise("RGBA")
    source = _encode(noise, "PNG")

    converted = _convert(source, "png", 5)

    assert converted == _convert(source, "png")
    assert _open(converted).tobytes() == noise.tobytes()


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, os.urandom(2000)])
def test_bytes_pillow_cannot_read_are_invalid_input(data):
    with pytest.raises(InvalidInput, match="cannot convert"):
        _convert(data, "jpeg")


def test_a_truncated_image_is_invalid_input():
    whole = _encode(_noise(size=(256, 256)), "PNG")

    with pytest.raises(InvalidInput, match="cannot convert"):
        _convert(whole[: len(whole) // 2], "webp")


@pytest.mark.parametrize("source_format", ["WEBP", "PNG", "GIF"])
def test_an_animated_image_is_refused(source_format):
    with pytest.raises(InvalidInput, match=r"animated .*3 frames"):
        _convert(_animated(source_format), "png")


@pytest.mark.parametrize("image_format", list(IMAGE_FORMATS))
def test_every_format_the_domain_lists_converts_to_bytes_of_its_extension(image_format):
    converted = _convert(_encode(Image.new("RGB", (4, 4)), "PNG"), image_format)

    assert sniff_extension(converted) == IMAGE_FORMATS[image_format].extension


def test_pillow_is_imported_only_when_an_image_is_looked_at():
    script = (
        "import sys\n"
        "from adapters.pillow_converter import PillowImageConverter\n"
        "PillowImageConverter()\n"
        "print('PIL' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.fixture
def pillow_limit(monkeypatch):
    """Pillow's process-wide MAX_IMAGE_PIXELS, which the converter sets to its own, put back after the test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def test_an_image_over_max_pixels_is_refused_from_its_header_naming_its_size(pillow_limit):
    with pytest.raises(OutputNotConverted) as caught:
        PillowImageConverter(max_pixels=100).convert(_encode(Image.new("RGB", (20, 10)), "PNG"), OutputFormat("jpeg"))
    assert caught.value.message == "20x10 is over OUTPUT_FORMAT_MAX_PIXELS (100 pixels)"
    assert caught.value.code == "output_not_converted"


def test_an_image_at_max_pixels_converts(pillow_limit):
    converted = PillowImageConverter(max_pixels=100).convert(_encode(Image.new("RGB", (10, 10)), "PNG"), OutputFormat("jpeg"))
    assert sniff_extension(converted) == ".jpg"


def test_an_image_past_pillows_own_bomb_limit_is_refused_the_same_way_never_as_an_error(pillow_limit):
    # over twice MAX_IMAGE_PIXELS Pillow's open raises DecompressionBombError before the header is handed over
    with pytest.raises(OutputNotConverted, match=r"over OUTPUT_FORMAT_MAX_PIXELS \(100 pixels\)"):
        PillowImageConverter(max_pixels=100).convert(_encode(Image.new("L", (40, 40)), "PNG"), OutputFormat("webp"))
