"""The fenced JSON blocks of the project's documents, with the examples/ file each is marked as showing (or
answering): `<!-- examples/NAME.json -->` or `<!-- answer to examples/NAME.json -->` on the line before."""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass
from typing import Any, Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(
    r"(?:<!-- (?P<answer>answer to )?(?P<file>examples/[\w.-]+) -->\n)?[ ]*```json\n(?P<body>.*?)\n[ ]*```", re.DOTALL
)


@dataclass(frozen=True)
class Block:
    doc: str
    file: Optional[str]  # the examples/ file it shows, or answers
    answer: bool
    body: str


def blocks() -> list[Block]:
    return [Block(doc.name, m["file"], bool(m["answer"]), m["body"]) for doc in DOCS for m in _BLOCK.finditer(doc.read_text())]


def documented_answer(file: str) -> Any:
    """The answer a document shows for the example `file` (`examples/NAME.json`)."""
    [block] = [block for block in blocks() if block.file == file and block.answer]
    return json.loads(block.body)
