"""GPU preflight, run with ComfyUI's interpreter before anything starts: CUDA initialises and a device is visible."""

import sys


def main() -> int:
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError(f"CUDA is not available to torch {torch.__version__} (CUDA build {torch.version.cuda})")
        count = torch.cuda.device_count()
        if count < 1:
            raise RuntimeError("no CUDA device is visible")
        torch.zeros(1, device="cuda")  # a real allocation: a broken driver fails here, not in the first job
        name = torch.cuda.get_device_name(0)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]  # one line, however the driver words it
        print(
            f"gpu_preflight: GPU unusable, this worker takes no jobs: {type(exc).__name__}: {reason}", file=sys.stderr
        )
        return 1
    print(f"gpu_preflight: {count} CUDA device(s), first: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
