"""The client's request: a workflow file as the editor saves it or as its API export, sent as it is, and
`--set NODE.INPUT=VALUE` overrides."""
import json

import pytest

from comfy_runpod_client.cli import build_parser, job_input, main, parse_override

UI = {"nodes": [{"id": 1, "type": "EmptyImage", "widgets_values": [8, 8, 1, 0]}], "links": [], "version": 0.4}


def test_a_ui_export_is_sent_as_it_is_with_its_overrides(tmp_path):
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(UI))
    request = job_input(path, [], ["KSampler.seed=42", "Positive prompt.text=a cat, 4k", "Save.v1.prefix=\"x\"",
                                   "6.cfg=7.5", "KSampler.denoise=0.5"])
    assert request["workflow"] == UI
    assert request["overrides"] == {"KSampler": {"seed": 42, "denoise": 0.5}, "Positive prompt": {"text": "a cat, 4k"},
                                    "Save.v1": {"prefix": "x"}, "6": {"cfg": 7.5}}


def test_overrides_merge_with_those_of_a_request_file(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"input": {"workflow": UI, "overrides": {"KSampler": {"steps": 2}}}}))
    assert job_input(path, [], ["KSampler.seed=1"])["overrides"] == {"KSampler": {"steps": 2, "seed": 1}}


@pytest.mark.parametrize("text", ["seed=4", "KSampler.seed", ".seed=4", "KSampler.=4"])
def test_a_malformed_set_is_a_usage_error(text, tmp_path, capsys):
    assert parse_override("a.b=c") == ("a", "b", "c")
    with pytest.raises(ValueError, match=r"NODE\.INPUT=VALUE"):
        parse_override(text)
    path = tmp_path / "w.json"
    path.write_text(json.dumps(UI))
    with pytest.raises(SystemExit) as exited:
        main(["run", str(path), "--url", "http://127.0.0.1:9", "--set", text])
    assert exited.value.code == 2 and "NODE.INPUT=VALUE" in capsys.readouterr().err


def test_the_help_says_both_forms():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    assert "editor saves" in run.format_help() and "--set NODE.INPUT=VALUE" in run.format_help()
