"""`python -m comfy_runpod_client run workflow.json --image a.png --endpoint ID` (or `--url`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
