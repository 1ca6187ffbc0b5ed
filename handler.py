"""The RunPod Hub's entry file: runs the worker (`entrypoints.runpod_handler`), from a checkout or an install."""

import pathlib
import sys

SRC = pathlib.Path(__file__).resolve().parent / "src"
if (SRC / "entrypoints").is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from entrypoints.runpod_handler import main  # noqa: E402

if __name__ == "__main__":
    main()
