"""Output kinds of the simulator beyond the transcripts' frame sequences: well-formed files, custom keys, previews."""
import hashlib
import json
import math
import struct
import uuid
from array import array
from typing import Optional

import requests

from comfyui_sim import audio_files
from frame_recorder import FrameRecorder

FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}


def run(sim, prompt: dict, first_message: dict | None = None) -> tuple:
    client_id = str(uuid.uuid4())
    recorder = FrameRecorder(sim.host, client_id, first_message=first_message)
    assert recorder.wait_count(2 if first_message else 1)
    answer = requests.post(f"{sim.base_url}/prompt", json={"prompt": prompt, "client_id": client_id}, timeout=30)
    assert answer.status_code == 200, answer.text
    prompt_id = answer.json()["prompt_id"]
    assert recorder.wait_final(prompt_id, timeout=60)
    return recorder, sim.history(prompt_id)


def view(sim, entry: dict) -> requests.Response:
    got = requests.get(f"{sim.base_url}/view", params=entry, timeout=30)
    assert got.status_code == 200
    return got


def crc(data: bytes, poly: int, bits: int) -> int:
    value, top, mask = 0, 1 << (bits - 1), (1 << bits) - 1
    for byte in data:
        value ^= byte << (bits - 8)
        for _ in range(8):
            value = ((value << 1) ^ poly) & mask if value & top else (value << 1) & mask
    return value


def decode_flac(blob: bytes) -> tuple:
    """A decoder for what a FLAC writer without prediction emits: CONSTANT and VERBATIM 16-bit subframes."""
    assert blob[:4] == b"fLaC"
    pos, last = 4, False
    info: Optional[bytes] = None
    while not last:
        last, kind, size = bool(blob[pos] >> 7), blob[pos] & 0x7F, int.from_bytes(blob[pos + 1:pos + 4], "big")
        if kind == 0:
            info = blob[pos + 4:pos + 4 + size]
        pos += 4 + size
    assert info is not None, "no STREAMINFO block"
    packed = int.from_bytes(info[10:18], "big")
    rate, channels, bits, total = packed >> 44, ((packed >> 41) & 7) + 1, ((packed >> 36) & 31) + 1, packed & (2**36 - 1)
    assert bits == 16
    decoded: list[list[int]] = [[] for _ in range(channels)]
    while pos < len(blob):
        assert blob[pos:pos + 2] == b"\xff\xf8" and blob[pos + 2] >> 4 == 7
        head_end = pos + 4
        while blob[head_end] & 0xC0 == 0x80 or head_end == pos + 4:
            head_end += 1
        head_end += 2
        size = int.from_bytes(blob[head_end - 2:head_end], "big") + 1
        assert crc(blob[pos:head_end], 0x07, 8) == blob[head_end]
        cursor = head_end + 1
        for channel in range(channels):
            kind = blob[cursor]
            cursor += 1
            if kind == 0x00:
                decoded[channel] += [struct.unpack(">h", blob[cursor:cursor + 2])[0]] * size
                cursor += 2
            else:
                assert kind == 0x02
                decoded[channel] += list(struct.unpack(f">{size}h", blob[cursor:cursor + 2 * size]))
                cursor += 2 * size
        assert crc(blob[pos:cursor], 0x8005, 16) == int.from_bytes(blob[cursor:cursor + 2], "big")
        pos = cursor + 2
    interleaved = array("h", (ch[i] for i in range(total) for ch in decoded)).tobytes()
    assert hashlib.md5(interleaved).digest() == info[18:34]
    return rate, decoded


def test_flac_round_trips_a_tone_sample_for_sample():
    tone = [array("h", (int(8000 * math.sin(i / 7.0 + c)) for i in range(5000))) for c in range(2)]
    rate, decoded = decode_flac(audio_files.flac(audio_files.Audio(32000, tone), {"prompt": "{}"}))
    assert rate == 32000 and decoded == [list(ch) for ch in tone]


def ogg_pages(blob: bytes) -> list:
    pages, pos = [], 0
    while pos < len(blob):
        assert blob[pos:pos + 4] == b"OggS"
        count = blob[pos + 26]
        body = sum(blob[pos + 27:pos + 27 + count])
        end = pos + 27 + count + body
        page = bytearray(blob[pos:end])
        wanted, page[22:26] = struct.unpack("<I", page[22:26])[0], b"\x00" * 4
        assert crc(bytes(page), 0x04C11DB7, 32) == wanted
        pages.append(bytes(page))
        pos = end
    return pages


def test_audio_nodes_write_playable_files(comfy_sim):
    prompt = {"1": {"class_type": "EmptyAudio", "inputs": {"duration": 0.5, "sample_rate": 22050, "channels": 1}},
              "2": {"class_type": "SaveAudio", "inputs": {"audio": ["1", 0], "filename_prefix": "audio/t"}},
              "3": {"class_type": "SaveAudioOpus", "inputs": {"audio": ["1", 0], "filename_prefix": "audio/t",
                                                              "quality": "64k"}},
              "4": {"class_type": "PreviewAudio", "inputs": {"audio": ["1", 0]}}}
    _, entry = run(comfy_sim, prompt)
    flac, opus, preview = (entry["outputs"][n]["audio"][0] for n in ("2", "3", "4"))
    assert (flac["filename"], flac["subfolder"], flac["type"]) == ("t_00001_.flac", "audio", "output")
    assert (opus["filename"], preview["type"], preview["subfolder"]) == ("t_00002_.opus", "temp", "")
    rate, decoded = decode_flac(view(comfy_sim, flac).content)
    assert rate == 22050 and decoded == [[0] * 11025]
    pages = ogg_pages(view(comfy_sim, opus).content)
    assert pages[0][28:36] == b"OpusHead" and pages[0][5] == 2 and pages[-1][5] == 4
    assert view(comfy_sim, preview).headers["Content-Type"] == "audio/flac"


def test_custom_key_output_node(comfy_sim):
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 2, "color": 9}},
              "2": {"class_type": "SimSaveCustom", "inputs": {"images": ["1", 0], "filename_prefix": "custom/x"}}}
    recorder, entry = run(comfy_sim, prompt)
    files = entry["outputs"]["2"]
    assert list(files) == ["my_files"] and [f["filename"] for f in files["my_files"]] == \
        ["x_00001_.png", "x_00002_.png"]
    executed = next(f["data"] for f in recorder.frames if isinstance(f, dict) and f["type"] == "executed")
    assert executed["output"] == files
    assert view(comfy_sim, files["my_files"][1]).content[:4] == b"\x89PNG"


SAMPLER = {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
           "2": {"class_type": "SimKSampler", "inputs": {"latent_image": ["1", 0], "seed": 3, "steps": 4,
                                                         "seconds_per_step": 0.0}},
           "3": {"class_type": "VAELoader", "inputs": {"vae_name": "pixel_space"}},
           "4": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["3", 0]}},
           "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "sampled"}}}


def test_sampler_sends_progress_and_jpeg_previews(comfy_sim):
    recorder, entry = run(comfy_sim, SAMPLER)
    labels = recorder.labels()
    start = labels.index("executing(2)")
    assert labels[start + 1:start + 13] == ["progress_state", "progress(1/4)", "bin:1", *["progress_state", "progress(2/4)", "bin:1", "progress_state", "progress(3/4)", "bin:1", "progress_state", "progress(4/4)", "bin:1"][:9]]
    previews = [f for f in recorder.frames if isinstance(f, bytes)]
    assert len(previews) == 4 and all(p[:8] == struct.pack(">II", 1, 1) and p[8:10] == b"\xff\xd8" for p in previews)
    saved = entry["outputs"]["5"]["images"][0]
    assert view(comfy_sim, saved).content[:4] == b"\x89PNG"


def test_sampler_previews_with_metadata(comfy_sim):
    recorder, _ = run(comfy_sim, SAMPLER, first_message=FLAGS)
    previews = [f for f in recorder.frames if isinstance(f, bytes)]
    assert len(previews) == 4
    size = struct.unpack(">I", previews[0][4:8])[0]
    metadata = json.loads(previews[0][8:8 + size])
    assert struct.unpack(">I", previews[0][:4])[0] == 4
    assert (metadata["node_id"], metadata["image_type"]) == ("2", "image/jpeg")
    assert previews[0][8 + size:10 + size] == b"\xff\xd8"
    labels = recorder.labels()
    assert labels[labels.index("progress(1/4)") - 1] == "bin:4"


def test_output_nodes_are_delivered_while_later_work_runs(comfy_sim):
    prompt, previous = {"1": {"class_type": "EmptyImage", "inputs": {"width": 256, "height": 256, "batch_size": 1,
                                                                   "color": 5}}}, "1"
    for index in range(3):
        noise, save = str(10 + index), str(20 + index)
        prompt[noise] = {"class_type": "ImageAddNoise", "inputs": {"image": [previous, 0], "seed": index,
                                                                   "strength": 0.5}}
        prompt[save] = {"class_type": "SaveImage", "inputs": {"images": [noise, 0], "filename_prefix": f"s{index}"}}
        previous = noise
    recorder, entry = run(comfy_sim, prompt)
    order = [lab for lab in recorder.labels() if lab.startswith(("executing(1", "executed(2"))]
    assert order == ["executing(1)", "executing(10)", "executed(20)", "executing(11)", "executed(21)",
                     "executing(12)", "executed(22)"]
    assert sorted(entry["outputs"]) == ["20", "21", "22"]


def test_noise_png_costs_like_the_real_server(comfy_sim):
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 2048, "height": 2048, "batch_size": 1,
                                                         "color": 8421504}},
              "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 1, "strength": 1.0}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "big"}}}
    _, entry = run(comfy_sim, prompt)
    size = len(view(comfy_sim, entry["outputs"]["3"]["images"][0]).content)
    # big_2048.json: the real server's PNG of this prompt is 7,508,182 bytes
    assert 6_000_000 < size < 9_000_000


def test_stalled_node_sends_nothing_until_interrupted(comfy_sim):
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
              "2": {"class_type": "SimStall", "inputs": {"image": ["1", 0]}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "never"}}}
    client_id = str(uuid.uuid4())
    recorder = FrameRecorder(comfy_sim.host, client_id)
    assert recorder.wait_count(1)
    prompt_id = requests.post(f"{comfy_sim.base_url}/prompt", json={"prompt": prompt, "client_id": client_id},
                              timeout=30).json()["prompt_id"]
    assert recorder.wait_label("executing(2)")
    queue = requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json()
    assert [item[1] for item in queue["queue_running"]] == [prompt_id]
    assert recorder.labels()[-1] == "executing(2)"
    assert requests.post(f"{comfy_sim.base_url}/interrupt", json={"prompt_id": prompt_id}, timeout=10).ok
    assert recorder.wait_final(prompt_id)
    interrupted = next(f["data"] for f in recorder.frames if isinstance(f, dict)
                       and f["type"] == "execution_interrupted")
    assert interrupted["node_id"] == "2" and interrupted["node_type"] == "SimStall"


def test_a_node_whose_id_is_empty_runs(comfy_sim):
    """ComfyUI accepts any string as a node id, "" included; it is not a dependency cycle."""
    import uuid

    import requests

    prompt_id = str(uuid.uuid4())
    workflow = {"": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["", 0], "filename_prefix": "empty_id"}}}
    answer = requests.post(comfy_sim.base_url + "/prompt", json={"prompt": workflow, "prompt_id": prompt_id}, timeout=10)
    assert answer.status_code == 200, answer.text
    comfy_sim.wait_idle()
    assert comfy_sim.history(prompt_id)["status"]["status_str"] == "success"
