"""`python -m bench.simulator_process`: the ComfyUI simulator in a process of its own, until stdin closes.

Each stdin line is a JSON object of fault knobs to set (e.g. `{"node_delay_s": {"EmptyImage": 0.5}}`); the
process answers `{"set": [names]}` once they hold.
"""
from __future__ import annotations

import json
import sys

from comfyui_sim import ComfySimulator


def main() -> None:
    simulator = ComfySimulator(port=0).start()
    try:
        print(json.dumps({"host": simulator.host}), flush=True)
        for line in sys.stdin:
            if line.strip():
                knobs = json.loads(line)
                for name, value in knobs.items():
                    if not hasattr(simulator.faults, name):
                        raise SystemExit(f"the simulator has no fault knob {name!r}")
                    setattr(simulator.faults, name, value)
                print(json.dumps({"set": sorted(knobs)}), flush=True)
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
