"""OUTPUT_FORMAT_MAX_PIXELS: the converter the container builds refuses beyond it; a bad value stops the worker."""
import io

import pytest
from PIL import Image

from domain.errors import OutputNotConverted
from domain.model import OutputFormat
from entrypoints.container import build_container
from entrypoints.environment import read_settings
from entrypoints.settings import ConfigError


@pytest.fixture(autouse=True)
def pillow_limit(monkeypatch):
    """Pillow's process-wide MAX_IMAGE_PIXELS, which the converter sets to its own, put back after the test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def png(width, height, mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_variable_reaches_the_converter():
    converter = build_container({"OUTPUT_FORMAT_MAX_PIXELS": "1000"}).services().converter
    assert converter.convert(png(40, 25), OutputFormat("jpeg"))
    with pytest.raises(OutputNotConverted, match=r"41x25 is over OUTPUT_FORMAT_MAX_PIXELS \(1,000 pixels\)"):
        converter.convert(png(41, 25), OutputFormat("jpeg"))


def test_the_default_is_50_million_pixels():
    converter = build_container({}).services().converter
    with pytest.raises(OutputNotConverted, match=r"50,000,000 pixels"):
        converter.convert(png(10001, 5000, mode="1"), OutputFormat("jpeg"))  # 50 MB for a moment


@pytest.mark.parametrize("value", ["0", "-5", "1e8", "many"])
def test_a_bad_value_stops_the_worker_naming_the_variable(value):
    with pytest.raises(ConfigError, match="OUTPUT_FORMAT_MAX_PIXELS"):
        read_settings({"OUTPUT_FORMAT_MAX_PIXELS": value})
