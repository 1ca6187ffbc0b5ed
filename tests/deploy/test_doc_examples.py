"""The documentation's requests are the files in examples/ (which tests/integration/test_examples_sim.py runs): each
request block of README.md and docs/*.md is marked with the file it shows and equals it, and every file is shown."""
import json
import re

import pytest

from doc_blocks import ROOT, blocks

EXAMPLES = ROOT / "examples"


def is_request(body: str) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return bool(re.match(r'\s*\{\s*"input"\s*:', body))
    return isinstance(parsed, dict) and "input" in parsed


def test_every_request_in_the_docs_is_a_marked_example_file():
    unmarked = [(block.doc, block.body[:80]) for block in blocks() if is_request(block.body) and block.file is None]
    assert not unmarked, f"requests in the docs that are no examples/ file: {unmarked}"


@pytest.mark.parametrize("block", [block for block in blocks() if block.file and not block.answer],
                         ids=lambda block: f"{block.doc}:{block.file}")
def test_each_marked_block_is_its_file(block):
    assert json.loads(block.body) == json.loads((ROOT / block.file).read_text()), f"{block.doc} shows it otherwise"


def test_every_example_file_is_shown_in_the_docs():
    shown = {block.file for block in blocks() if block.file and not block.answer}
    assert shown == {f"examples/{path.name}" for path in EXAMPLES.glob("*.json")}
