"""NETWORK_VOLUME_DEBUG's report (scripts/network_volume_report.py) on volumes laid out well and badly, read through
the image's own extra_model_paths.yaml pointed at a folder here."""
import pathlib
import subprocess
import sys

from deploy.start_harness import ROOT


def volume_config(tmp_path: pathlib.Path, volume: pathlib.Path) -> pathlib.Path:
    config = tmp_path / "extra_model_paths.yaml"
    config.write_text((ROOT / "scripts/extra_model_paths.yaml").read_text().replace("/runpod-volume", str(volume)))
    return config


def report(config: pathlib.Path) -> list:
    result = subprocess.run([sys.executable, str(ROOT / "scripts/network_volume_report.py"), str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, "a diagnostic never stops the start"
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("network_volume: ") for line in lines), result.stdout
    return [line.removeprefix("network_volume: ") for line in lines]


def place(volume: pathlib.Path, *files: str) -> None:
    for name in files:
        path = volume / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"0" * 1536)


def test_a_good_layout_lists_each_model_as_a_workflow_names_it(tmp_path):
    volume = tmp_path / "volume"
    place(volume, "models/checkpoints/sd15.safetensors", "models/checkpoints/sdxl/base.safetensors",
          "models/loras/detail.pt", "models/unet/flux1-dev.safetensors")
    lines = report(volume_config(tmp_path, volume))
    assert f"checkpoints: 2 in {volume}/models/checkpoints: sd15.safetensors (1.5 KB), sdxl/base.safetensors (1.5 KB)" \
        in lines
    assert f"loras: 1 in {volume}/models/loras: detail.pt (1.5 KB)" in lines
    assert f"diffusion_models: 1 in {volume}/models/unet: flux1-dev.safetensors (1.5 KB)" in lines
    assert lines[-1] == "summary: 4 models ComfyUI will list, 0 problems"
    assert not any(line.startswith("PROBLEM") for line in lines)


def test_the_usual_mistakes_are_named(tmp_path):
    volume = tmp_path / "volume"
    place(volume, "models/checkpoints/notes.txt", "models/Lora/style.safetensors", "models/stray.safetensors",
          "ComfyUI/models/checkpoints/podmodel.safetensors")
    problems = [line for line in report(volume_config(tmp_path, volume)) if line.startswith("PROBLEM")]
    expected = [f"{volume}/models/checkpoints/notes.txt: ignored by ComfyUI",
                f"{volume}/models/Lora/: not a folder ComfyUI reads models from (did you mean loras/?)",
                f"{volume}/models/stray.safetensors: a model outside every model folder",
                f"{volume}/ComfyUI/models/checkpoints/podmodel.safetensors: a model outside the folders ComfyUI reads"]
    assert len(problems) == len(expected)
    for wanted in expected:
        assert any(wanted in line for line in problems), (wanted, problems)


def test_no_volume_and_no_models_folder_are_said_plainly(tmp_path):
    lines = report(volume_config(tmp_path, tmp_path / "absent"))
    assert any("does not exist: no network volume is attached" in line for line in lines)
    (tmp_path / "bare").mkdir()
    lines = report(volume_config(tmp_path, tmp_path / "bare"))
    assert any(f"{tmp_path}/bare/models/ does not exist" in line for line in lines)


def test_a_missing_or_broken_config_is_reported_not_raised(tmp_path):
    assert "does not exist" in report(tmp_path / "nope.yaml")[-1]
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [unclosed\n")
    assert "cannot be read" in report(broken)[-1]


def test_a_huge_volume_is_listed_partially_not_forever(tmp_path, monkeypatch):
    volume = tmp_path / "volume"
    place(volume, *(f"models/loras/l{i:03}.safetensors" for i in range(60)))
    script = (ROOT / "scripts/network_volume_report.py").read_text().replace("MAX_ENTRIES = 20000", "MAX_ENTRIES = 30")
    bounded = tmp_path / "report.py"
    bounded.write_text(script)
    result = subprocess.run([sys.executable, str(bounded), str(volume_config(tmp_path, volume))], capture_output=True,
                            text=True, timeout=60)
    assert "the listing stopped after 30 entries" in result.stdout
    assert "loras: 30 in" in result.stdout and "and 10 more" in result.stdout
