"""`python -m comfyui_sim --host 127.0.0.1 --port 8188 [--comfyui-version 0.35.1]`: serve until SIGINT/SIGTERM."""

import argparse
import signal
import sys
import threading

from .simulator import ComfySimulator
from .versions import DEFAULT_VERSION, PROFILES


def main() -> None:
    parser = argparse.ArgumentParser(prog="comfyui_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument(
        "--comfyui-version",
        default=DEFAULT_VERSION,
        help=f"the ComfyUI release to behave as: {', '.join(PROFILES)} (a prefix such as 0.17 picks one)",
    )
    parser.add_argument("--enable-assets", action="store_true", help="ComfyUI's --enable-assets (0.25.0+: asset ids)")
    args = parser.parse_args()
    finished = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: finished.set())
    try:
        sim = ComfySimulator(
            port=args.port, host=args.host, version=args.comfyui_version, enable_assets=args.enable_assets
        )
    except ValueError as exc:
        parser.error(str(exc))
    sim.start()
    print(f"comfyui_sim: behaving as ComfyUI {sim.profile.version}", file=sys.stderr, flush=True)
    print(f"ComfyUI simulator listening on {sim.base_url}", flush=True)
    try:
        finished.wait()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
