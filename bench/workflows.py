"""The benchmark's workflows: every job gets its own colour or seeds so ComfyUI's cache never short-cuts it."""
from __future__ import annotations

from typing import Any

SMALL_SIZE = 512
BIG_SIZE = 2048
BIG_CHAINS = 4
SCENARIOS = ("small", "big4")


def rgb(color: int) -> list[int]:
    return [(color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF]


def build_job(scenario: str, variant: int, prefix: str) -> dict[str, Any]:
    """`{"workflow", "expect"}` for job number `variant` of a run; `prefix` names its files."""
    if scenario == "small":
        return _small(variant, prefix)
    if scenario == "big4":
        return _big4(variant, prefix)
    raise ValueError(f"unknown scenario {scenario!r}: use one of {', '.join(SCENARIOS)}")


def _small(variant: int, prefix: str) -> dict[str, Any]:
    color = (variant * 2654435761) & 0xFFFFFF
    workflow = {
        "1": {"class_type": "EmptyImage",
              "inputs": {"width": SMALL_SIZE, "height": SMALL_SIZE, "batch_size": 1, "color": color}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }
    expect = [{"prefix": prefix, "size": [SMALL_SIZE, SMALL_SIZE], "color": rgb(color)}]
    return {"workflow": workflow, "expect": expect}


def _big4(variant: int, prefix: str) -> dict[str, Any]:
    workflow: dict[str, Any] = {}
    expect = []
    for chain in range(BIG_CHAINS):
        empty, noise, save = (str(3 * chain + step) for step in (1, 2, 3))
        seed = variant * BIG_CHAINS + chain
        chain_prefix = f"{prefix}_{chain}"
        workflow[empty] = {"class_type": "EmptyImage", "inputs": {
            "width": BIG_SIZE, "height": BIG_SIZE, "batch_size": 1, "color": (variant * 40503 + chain) & 0xFFFFFF}}
        workflow[noise] = {"class_type": "ImageAddNoise",
                           "inputs": {"image": [empty, 0], "seed": seed, "strength": 1.0}}
        workflow[save] = {"class_type": "SaveImage", "inputs": {"images": [noise, 0], "filename_prefix": chain_prefix}}
        expect.append({"prefix": chain_prefix, "size": [BIG_SIZE, BIG_SIZE], "seed": seed, "seed_node": noise})
    return {"workflow": workflow, "expect": expect}


def save_prefixes(workflow: dict[str, Any]) -> set[str]:
    """The filename prefixes of a workflow's SaveImage nodes: how a `/history` entry is matched to its job."""
    return {node["inputs"]["filename_prefix"] for node in workflow.values() if node.get("class_type") == "SaveImage"}


def saved_under(prompt: dict[str, Any]) -> set[str]:
    """The filename prefixes a queued prompt (a `/history` entry's `prompt[2]`) saves under, without the
    folder a worker puts in front (`job-<prompt id>/` when it keeps each job's files apart)."""
    return {node["inputs"]["filename_prefix"].rsplit("/", 1)[-1] for node in prompt.values()
            if isinstance(node.get("inputs", {}).get("filename_prefix"), str)}
