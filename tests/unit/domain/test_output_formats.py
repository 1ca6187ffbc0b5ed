"""output_formats: the one table of formats a job may ask for, and the one quality check (the parser's use of them:
tests/unit/entrypoints/test_output_format_parsing.py)."""
import pytest

from domain.outputs.formats import CONVERTIBLE_EXTENSIONS, FORMAT_ALIASES, IMAGE_FORMATS, is_quality


def test_each_format_names_the_extension_and_media_type_of_its_bytes():
    assert IMAGE_FORMATS == {
        "png": (".png", "image/png"),
        "jpeg": (".jpg", "image/jpeg"),
        "webp": (".webp", "image/webp"),
    }
    assert FORMAT_ALIASES == {"jpg": "jpeg"}
    assert {fmt.extension for fmt in IMAGE_FORMATS.values()} | {".jpeg"} == CONVERTIBLE_EXTENSIONS


@pytest.mark.parametrize(
    "value, expected",
    [(1, True), (100, True), (55, True), (0, False), (101, False), (-5, False), (True, False), (False, False),
     (95.0, False), (9.5, False), ("95", False), (None, False), ([90], False)],
)
def test_a_quality_is_a_whole_number_from_1_to_100(value, expected):
    assert is_quality(value) is expected
