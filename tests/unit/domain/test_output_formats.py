"""output_formats: the one table of formats a job may ask for, and the one quality check, as the parser reads them."""
import pytest

from domain.errors import InvalidInput
from domain.outputs.formats import CONVERTIBLE_EXTENSIONS, FORMAT_ALIASES, IMAGE_FORMATS, is_quality
from entrypoints.request import parse_request

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}


def _parse(output_format):
    return parse_request({"workflow": WORKFLOW, "output_format": output_format}).output_format


def test_each_format_names_the_extension_and_media_type_of_its_bytes():
    assert IMAGE_FORMATS == {
        "png": (".png", "image/png"),
        "jpeg": (".jpg", "image/jpeg"),
        "webp": (".webp", "image/webp"),
    }
    assert FORMAT_ALIASES == {"jpg": "jpeg"}
    assert {fmt.extension for fmt in IMAGE_FORMATS.values()} | {".jpeg"} == CONVERTIBLE_EXTENSIONS


@pytest.mark.parametrize("name", [*IMAGE_FORMATS, *FORMAT_ALIASES])
def test_the_parser_accepts_every_format_of_the_table_and_its_aliases(name):
    assert _parse({"format": name}).format == FORMAT_ALIASES.get(name, name)


@pytest.mark.parametrize("name", ["gif", "JPEG", "jpg ", "", "tiff", ["png"], {"png": 1}, 3])
def test_the_parser_refuses_other_formats_listing_the_table(name):
    with pytest.raises(InvalidInput, match="must be one of png, jpeg, webp, got"):
        _parse({"format": name})


@pytest.mark.parametrize(
    "value, expected",
    [(1, True), (100, True), (55, True), (0, False), (101, False), (-5, False), (True, False), (False, False),
     (95.0, False), (9.5, False), ("95", False), (None, False), ([90], False)],
)
def test_a_quality_is_a_whole_number_from_1_to_100(value, expected):
    assert is_quality(value) is expected


@pytest.mark.parametrize("value", [1, 100, 80.0, 0, 101, True, 9.5, "95", [90]])
def test_the_parser_takes_the_qualities_the_check_takes_and_json_s_whole_floats(value):
    whole = int(value) if isinstance(value, float) and value.is_integer() else value
    if is_quality(whole):
        assert _parse({"format": "webp", "quality": value}).quality == whole
    else:
        with pytest.raises(InvalidInput, match="quality must be a whole number from 1 to 100"):
            _parse({"format": "webp", "quality": value})
