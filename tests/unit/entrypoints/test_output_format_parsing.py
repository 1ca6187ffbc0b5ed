"""The parser reads `output_format` by the domain's one table of formats and its one quality check."""
import pytest

from domain.errors import InvalidInput
from domain.outputs.formats import FORMAT_ALIASES, IMAGE_FORMATS, is_quality
from entrypoints.request import parse_request

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}


def _parse(output_format):
    return parse_request({"workflow": WORKFLOW, "output_format": output_format}).output_format


@pytest.mark.parametrize("name", [*IMAGE_FORMATS, *FORMAT_ALIASES])
def test_the_parser_accepts_every_format_of_the_table_and_its_aliases(name):
    assert _parse({"format": name}).format == FORMAT_ALIASES.get(name, name)


@pytest.mark.parametrize("name", ["gif", "JPEG", "jpg ", "", "tiff", ["png"], {"png": 1}, 3])
def test_the_parser_refuses_other_formats_listing_the_table(name):
    with pytest.raises(InvalidInput, match="must be one of png, jpeg, webp, got"):
        _parse({"format": name})


@pytest.mark.parametrize("value", [1, 100, 80.0, 0, 101, True, 9.5, "95", [90]])
def test_the_parser_takes_the_qualities_the_check_takes_and_json_s_whole_floats(value):
    whole = int(value) if isinstance(value, float) and value.is_integer() else value
    if is_quality(whole):
        assert _parse({"format": "webp", "quality": value}).quality == whole
    else:
        with pytest.raises(InvalidInput, match="quality must be a whole number from 1 to 100"):
            _parse({"format": "webp", "quality": value})
