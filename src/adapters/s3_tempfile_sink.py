"""Uploads output bytes to S3 through the RunPod SDK's `upload_image`, via a temp file."""
from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Any, Callable, Optional

from runpod.serverless.utils import rp_upload

from adapters.file_types import extension_for
from domain.errors import UploadFailed
from domain.model import Blob, OutputRef, StoredOutput

log = logging.getLogger(__name__)

Upload = Callable[..., Any]

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


class S3TempfileImageSink:
    """Implements the `ImageSink` port: temp file → `upload(job_id, path)` → presigned URL."""

    def __init__(self, *, bucket_name: Optional[str] = None, upload: Upload = rp_upload.upload_image) -> None:
        self._bucket_name = bucket_name
        self._upload = upload

    def store(self, job_id: str, ref: OutputRef, blob: Blob) -> StoredOutput:
        path = self._write_temp_file(ref, blob)
        try:
            url = self._call_upload(job_id, ref, path)
        finally:
            _remove(path)
        log.info("uploaded %s for job %s (%d bytes)", ref.filename, job_id, len(blob.data))
        return StoredOutput(ref=ref, type="s3_url", data=url, content_type=blob.content_type)

    def _write_temp_file(self, ref: OutputRef, blob: Blob) -> str:
        try:
            handle = tempfile.NamedTemporaryFile(delete=False, suffix=extension_for(ref.filename, blob.data))
        except OSError as exc:
            raise UploadFailed(f"could not create a temporary file for {ref.filename!r}: {exc}") from exc
        try:
            with handle:
                handle.write(blob.data)
        except OSError as exc:
            _remove(handle.name)
            raise UploadFailed(f"could not write {ref.filename!r} to a temporary file: {exc}") from exc
        return handle.name

    def _call_upload(self, job_id: str, ref: OutputRef, path: str) -> str:
        kwargs = {} if self._bucket_name is None else {"bucket_name": self._bucket_name}
        try:
            url = self._upload(job_id, path, **kwargs)
        except Exception as exc:
            raise UploadFailed(f"uploading {ref.filename!r} to S3 failed: {type(exc).__name__}: {_redact(str(exc))}") from exc
        # Without BUCKET_ENDPOINT_URL and its keys, upload_image copies the file to ./simulated_uploaded/ and returns that path.
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UploadFailed(
                f"S3 is not configured (BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY): "
                f"the upload helper returned {_redact(str(url))!r} instead of a URL for {ref.filename!r}",
                data={"filename": ref.filename},
            )
        return url


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not delete temporary file %s: %s", path, exc)


def _redact(text: str) -> str:
    return _URL_USERINFO.sub(r"\g<scheme>***@", text)
