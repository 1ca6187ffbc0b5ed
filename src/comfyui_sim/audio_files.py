"""Audio files without encoders: real FLAC (constant/verbatim subframes), and stand-in MP3 and Ogg Opus silence.

What is real: the FLAC file is a complete, lossless FLAC stream (STREAMINFO with the MD5 of the samples, a
VORBIS_COMMENT block with the prompt like ComfyUI's SaveAudio, frames with CRC-8/CRC-16) that any decoder
plays back sample for sample. What is a stand-in: the MP3 is an ID3v2.4 tag and silent MPEG-1 Layer III
frames (all-zero side info decodes as silence, whatever the input); the Opus file is a well-formed Ogg stream
(OpusHead, OpusTags, page CRCs, granule positions) whose packets are empty 20 ms frames (decoded as silence).
Their magic numbers match audio.json's views.
"""

import hashlib
import struct
from array import array

BLOCK = 2304  # audio.json views: STREAMINFO min and max block size 0x0900


class Audio:
    """ComfyUI's AUDIO: a sample rate and one array('h') of 16-bit samples per channel."""

    def __init__(self, sample_rate: int, channels: list) -> None:
        self.sample_rate, self.channels = sample_rate, channels

    @property
    def frames(self) -> int:
        return len(self.channels[0]) if self.channels else 0

    def __str__(self) -> str:
        return (
            f"{{'waveform': tensor(<audio of shape [1, {len(self.channels)}, {self.frames}]>), "
            f"'sample_rate': {self.sample_rate}}}"
        )


def silence(seconds: float, sample_rate: int, channels: int) -> Audio:
    count = round(seconds * sample_rate)
    return Audio(sample_rate, [array("h", bytes(2 * count)) for _ in range(channels)])


def _crc(data: bytes, poly: int, bits: int) -> int:
    crc, top, mask = 0, 1 << (bits - 1), (1 << bits) - 1
    for byte in data:
        crc ^= byte << (bits - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc


def _utf8_number(value: int) -> bytes:
    """FLAC's frame number coding: UTF-8's scheme extended to 36 bits."""
    if value < 0x80:
        return bytes([value])
    tail: list[int] = []
    while True:
        tail.insert(0, 0x80 | (value & 0x3F))
        value >>= 6
        room = 6 - len(tail)
        if value < (1 << room):
            lead = (0xFF << (7 - len(tail))) & 0xFF
            return bytes([lead | value]) + bytes(tail)


def _flac_frame(number: int, blocks: list) -> bytes:
    size = len(blocks[0])
    header = bytes([0xFF, 0xF8, 0x70, ((len(blocks) - 1) << 4) | 0x08]) + _utf8_number(number)
    header += struct.pack(">H", size - 1)
    header += bytes([_crc(header, 0x07, 8)])
    body = bytearray(header)
    for samples in blocks:
        if all(s == samples[0] for s in samples):
            body += b"\x00" + struct.pack(">h", samples[0])  # CONSTANT subframe
        else:
            big = array("h", samples)
            big.byteswap()
            body += b"\x02" + big.tobytes()  # VERBATIM subframe
    return bytes(body) + struct.pack(">H", _crc(bytes(body), 0x8005, 16))


def _vorbis_comment(tags: dict) -> bytes:
    vendor = b"comfyui_sim"
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(tags))
    for key, value in tags.items():
        entry = f"{key}={value}".encode()
        out += struct.pack("<I", len(entry)) + entry
    return out


def flac(audio: Audio, tags: dict) -> bytes:
    count, channels = audio.frames, len(audio.channels)
    frames = [
        _flac_frame(n, [list(ch[start : start + BLOCK]) for ch in audio.channels])
        for n, start in enumerate(range(0, count, BLOCK))
    ]
    interleaved = array("h", (ch[i] for i in range(count) for ch in audio.channels))
    if struct.pack("=H", 1) != struct.pack("<H", 1):
        interleaved.byteswap()
    block_min = min(BLOCK, count) if count else BLOCK
    sizes = [len(f) for f in frames] or [0]
    info = struct.pack(">HH", block_min, BLOCK) + min(sizes).to_bytes(3, "big") + max(sizes).to_bytes(3, "big")
    info += ((audio.sample_rate << 44) | ((channels - 1) << 41) | (15 << 36) | count).to_bytes(8, "big")
    info += hashlib.md5(interleaved.tobytes()).digest()
    comment = _vorbis_comment(tags)
    blocks = b"\x00" + len(info).to_bytes(3, "big") + info + b"\x84" + len(comment).to_bytes(3, "big") + comment
    return b"fLaC" + blocks + b"".join(frames)


def mp3(audio: Audio, kbps: int = 128) -> bytes:
    index = {128: 0b1001, 320: 0b1110}.get(kbps, 0b1001)
    size = 144 * {0b1001: 128000, 0b1110: 320000}[index] // 44100
    frame = bytes([0xFF, 0xFB, index << 4, 0xC0]) + bytes(size - 4)
    seconds = audio.frames / audio.sample_rate if audio.sample_rate else 0
    tag = b"TSSE" + struct.pack(">I", 14) + b"\x00\x00" + b"\x03comfyui_sim\x00\x00"
    padded = tag + bytes(1024 - len(tag))
    syncsafe = bytes((len(padded) >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + syncsafe + padded + frame * max(1, -(-int(seconds * 44100) // 1152))


def _ogg_page(kind: int, granule: int, sequence: int, packets: list) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    head = b"OggS\x00" + bytes([kind]) + struct.pack("<qII", granule, 0x53494D31, sequence)
    page = head + b"\x00\x00\x00\x00" + bytes([len(lacing)]) + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _crc(page, 0x04C11DB7, 32)) + page[26:]


def ogg_opus(audio: Audio) -> bytes:
    channels, pre_skip = min(2, len(audio.channels)), 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, audio.sample_rate, 0, 0)
    tags = b"OpusTags" + _vorbis_comment({"encoder": "comfyui_sim"})
    count = max(1, -(-audio.frames * 48000 // max(1, audio.sample_rate) // 960))
    toc = bytes([(31 << 3) | ((channels - 1) << 2)])
    pages = [_ogg_page(2, 0, 0, [head]), _ogg_page(0, 0, 1, [tags])]
    for first in range(0, count, 50):
        last = min(count, first + 50)
        kind = 4 if last == count else 0
        pages.append(_ogg_page(kind, pre_skip + last * 960, len(pages), [toc] * (last - first)))
    return b"".join(pages)
