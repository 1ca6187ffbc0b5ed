"""file_types: extensions from the file name, else from magic numbers."""
import pytest

from adapters.file_types import extension_for, sniff_extension

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("rec_single_00001_.png", ".png"),
        ("rec_anim_00002_.webp", ".webp"),
        ("rec_video_00001_.mp4", ".mp4"),
        ("rec_opus_00001_.opus", ".opus"),
        ("rec_latent_00001_.latent", ".latent"),
        ("SHOUT.JPG", ".jpg"),
        ("my file #1 & ünï.png", ".png"),
        ("video/sub/clip.webm", ".webm"),
    ],
)
def test_the_filename_extension_wins(filename, expected):
    assert extension_for(filename, b"\xff\xd8\xff\xe0 not matching") == expected


@pytest.mark.parametrize("filename", ["", "noextension", "trailing.", "weird.p n g", "bad.ext#frag", "x.abcdefghijklmnop"])
def test_an_unusable_filename_extension_falls_back_to_the_bytes(filename):
    assert extension_for(filename, b"GIF89a....") == ".gif"


def test_unknown_bytes_without_extension_default_to_png():
    assert extension_for("noextension", b"\x00\x01\x02 nothing known") == ".png"
    assert extension_for("", b"") == ".png"


@pytest.mark.parametrize(
    "data, expected",
    [
        (PNG, ".png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ".jpg"),
        (b"GIF87a\x01\x00", ".gif"),
        (b"GIF89a\x01\x00", ".gif"),
        (b"RIFF\x92\xb6\x00\x00WEBPVP8X", ".webp"),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", ".wav"),
        (bytes.fromhex("000000206674797069736f6d"), ".mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", ".mov"),
        (bytes.fromhex("1a45dfa39f4286810142f781") + b"\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm", ".webm"),
        (bytes.fromhex("1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b61"), ".mkv"),
        (bytes.fromhex("664c61430000002209000900"), ".flac"),
        (bytes.fromhex("4f6767530002000000000000"), ".ogg"),
        (bytes.fromhex("4944330400000000043c5458"), ".mp3"),
        (b"\xff\xfb\x90\x64\x00", ".mp3"),
        (b"\xff\xf1\x50\x80", None),  # AAC ADTS: sync bits but layer 00
        (b"p\x03\x00\x00\x00\x00\x00\x00{\"__", None),  # a .latent (safetensors)
        (b"", None),
    ],
)
def test_sniff_extension(data, expected):
    assert sniff_extension(data) == expected

