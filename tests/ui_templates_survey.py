"""Converts every UI-format workflow in a folder and checks each against an /object_info: how many convert, how many
ComfyUI's validation would accept but for missing model and input files, and why the others fail.

For template sets newer than the one the tests pin (comfyui-workflow-templates-json on PyPI, unpacked somewhere):
    python tests/ui_templates_survey.py --templates DIR [--object-info FILE.json[.gz]]
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from domain.errors import WorkerError  # noqa: E402
from domain.workflow.check import check_workflow  # noqa: E402
from domain.workflow.ui_format import convert_ui_workflow  # noqa: E402

OBJECT_INFO = ROOT / "tests" / "fixtures" / "comfyui" / "object_info_0.3.64.json.gz"
FILE_NAME = re.compile(r"\.[A-Za-z0-9]{2,12}( \[(input|output|temp)\])?$")


def missing_file(issue) -> bool:
    return (issue.type == "value_not_in_list" and isinstance(issue.received, str) and bool(FILE_NAME.search(issue.received))
            and not any(FILE_NAME.search(str(allowed)) for allowed in issue.allowed or ()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=pathlib.Path, required=True)
    parser.add_argument("--object-info", type=pathlib.Path, default=OBJECT_INFO)
    args = parser.parse_args(argv)
    raw = args.object_info.read_bytes()
    object_info = json.loads(gzip.decompress(raw) if args.object_info.suffix == ".gz" else raw)
    counts: collections.Counter = collections.Counter()
    failures: collections.Counter = collections.Counter()
    examples = collections.defaultdict(list)
    for path in sorted(args.templates.glob("*.json")):
        workflow = json.loads(path.read_text())
        if path.name.startswith("index") or not isinstance(workflow, dict) or "nodes" not in workflow:
            continue
        counts["workflows"] += 1
        counts["with subgraphs"] += bool((workflow.get("definitions") or {}).get("subgraphs"))
        try:
            prompt = convert_ui_workflow(workflow, object_info, choose=lambda n: 0).prompt
        except WorkerError as exc:
            counts["refused"] += 1
            examples["refused"].append(f"{path.name}: {exc.message}")
            continue
        counts["converted"] += 1
        if any(node["class_type"] not in object_info for node in prompt.values()):
            counts["needs classes this ComfyUI lacks"] += 1
            continue
        issues = [issue for issue in check_workflow(prompt, object_info) if not missing_file(issue)]
        if not issues:
            counts["valid but for missing files"] += 1
            continue
        counts["refused by validation"] += 1
        for kind in sorted({issue.type for issue in issues}):
            failures[kind] += 1
            examples[kind].append(f"{path.name}: {next(i for i in issues if i.type == kind).line()}")
    for name, count in counts.items():
        print(f"{count:5}  {name}")
    for kind, count in failures.most_common():
        print(f"{count:5}  refused: {kind}")
    for kind, lines in examples.items():
        for line in lines[:3]:
            print(f"       {kind}: {line[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
