"""`python -m bench.simulator_process`: the ComfyUI simulator in a process of its own, until stdin closes."""
from __future__ import annotations

import json
import sys

from comfyui_sim import ComfySimulator


def main() -> None:
    simulator = ComfySimulator(port=0).start()
    try:
        print(json.dumps({"host": simulator.host}), flush=True)
        sys.stdin.read()
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
