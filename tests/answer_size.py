"""The size of an answer as RunPod receives it: its compact JSON in bytes."""
import json


def answer_bytes(answer) -> int:
    return len(json.dumps(answer, separators=(",", ":")).encode("utf-8"))
