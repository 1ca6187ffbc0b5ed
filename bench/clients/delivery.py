"""How the bare clients deliver an output: base64 in the answer, or a temp file + RunPod's `upload_image`."""
from __future__ import annotations

import base64
import os
import tempfile


def deliver(job_id: str, filename: str, data: bytes, sink: str, bucket_name: str | None) -> dict:
    if sink == "base64":
        return {"filename": filename, "type": "base64", "data": base64.b64encode(data).decode("ascii")}
    from runpod.serverless.utils import rp_upload  # imported at start by settings() in S3 mode

    handle = tempfile.NamedTemporaryFile(delete=False, suffix=os.path.splitext(filename)[1])  # noqa: SIM115 (kept past this function, removed by the caller)
    try:
        with handle:
            handle.write(data)
        url = rp_upload.upload_image(job_id, handle.name, bucket_name=bucket_name)
    finally:
        os.unlink(handle.name)
    return {"filename": filename, "type": "s3_url", "data": url}


def settings() -> tuple[str, str, str | None]:
    """(ComfyUI's host, the sink, the bucket) from the same variables the worker reads."""
    sink = os.environ.get("OUTPUT_SINK") or ("s3" if os.environ.get("BUCKET_ENDPOINT_URL") else "base64")
    if sink == "s3":
        from runpod.serverless.utils import rp_upload  # noqa: F401  (set-up, not the first job's cost)
    return os.environ.get("COMFY_HOST") or "127.0.0.1:8188", sink, os.environ.get("BUCKET_NAME") or None


def saved_files(entry: dict) -> list[dict]:
    """Saved (`type: output`) files of a `/history` entry, in node id order."""
    files = []
    for node_id in sorted(entry.get("outputs", {}), key=lambda key: (len(key), key)):
        for kind in ("images", "gifs"):
            files += [item for item in entry["outputs"][node_id].get(kind, []) if item.get("type") == "output"]
    return files
