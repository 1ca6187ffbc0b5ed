"""`python -m comfyui_sim --host 127.0.0.1 --port 8188`: serve until SIGINT/SIGTERM."""

import argparse
import signal
import threading

from .simulator import ComfySimulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="comfyui_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    args = parser.parse_args()
    finished = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: finished.set())
    sim = ComfySimulator(port=args.port, host=args.host).start()
    print(f"ComfyUI simulator listening on {sim.base_url}", flush=True)
    try:
        finished.wait()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
