"""Uploads output bytes to S3 with the RunPod SDK's rp_upload helpers, streamed through a temp file."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
from typing import Any, Iterable, Iterator, Optional

from adapters.file_types import extension_for, is_dangerous
from adapters.url_credentials import HIDDEN, hide_credentials
from domain.budget import Budget
from domain.errors import UploadFailed, WorkerError

log = logging.getLogger(__name__)

PRESIGNED_URL_EXPIRY_S = 604800  # 7 days, as rp_upload.upload_image signs them


class S3OutputSink:
    """Implements the `OutputSink` port: chunks → temp file → `upload_file` → presigned URL.

    Credentials, endpoint and bucket come from the constructor, never from the environment.
    One boto3 client per sink, made at the first upload (or `prepare()`), shared by the threads
    that deliver outputs concurrently (boto3 clients are thread-safe).
    """

    inline = False
    name = "s3"

    def __init__(
        self,
        *,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        bucket_name: str,
        region: Optional[str] = None,
    ) -> None:
        self._credentials = {"endpointUrl": endpoint_url, "accessId": access_key_id, "accessSecret": secret_access_key}
        self._bucket_name = bucket_name
        self._region = region
        self._lock = threading.Lock()
        self._client: Any = None
        self._transfer_config: Any = None

    def prepare(self) -> None:
        """Import boto3 and make the client now (idempotent), for example during a warm-up."""
        self._client_and_config()

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        doing = f"uploading {filename}"
        budget.check(doing)
        path, extension, size = self._spool(filename, chunks, budget)
        try:
            key = f"{job_id}/{secrets.token_hex(4)}{extension}"
            url = self._upload(path, key, filename, content_type, budget)
        finally:
            _remove(path)
        log.info("uploaded %s (%d bytes, %s) as %s", filename, size, content_type or "no content type", key)
        return url

    def _spool(self, filename: str, chunks: Iterable[bytes], budget: Budget) -> tuple[str, str, int]:
        """Write the chunks to a temp file one by one, checking the budget between them."""
        try:
            handle = tempfile.NamedTemporaryFile(prefix="s3-upload-", delete=False)  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise UploadFailed(
                f"could not create a temporary file for {filename!r}: {exc}", data={"filename": filename}
            ) from exc
        extension, size = None, 0
        try:
            with handle:
                for chunk in _non_empty(chunks):
                    if extension is None:
                        extension = extension_for(filename, chunk)
                    handle.write(chunk)
                    size += len(chunk)
                    budget.check(f"uploading {filename}")
        except OSError as exc:
            _remove(handle.name)
            raise UploadFailed(
                f"could not write {filename!r} to a temporary file: {exc}", data={"filename": filename}
            ) from exc
        except BaseException:
            _remove(handle.name)
            raise
        return handle.name, extension or extension_for(filename, b""), size

    def _upload(self, path: str, key: str, filename: str, content_type: str, budget: Budget) -> str:
        doing = f"uploading {filename}"
        try:
            client, transfer_config = self._client_and_config()
            client.upload_file(
                path,
                self._bucket_name,
                key,
                ExtraArgs=_object_headers(content_type),
                Config=transfer_config,
                Callback=lambda _sent: budget.check(doing),  # raising here aborts the transfer
            )
            budget.check(doing)
            return client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket_name, "Key": key}, ExpiresIn=PRESIGNED_URL_EXPIRY_S
            )
        except (WorkerError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            raise UploadFailed(
                f"uploading {filename!r} to S3 failed: {type(exc).__name__}: {self._redact(str(exc))}",
                data={"filename": filename},
            ) from exc

    def _client_and_config(self) -> tuple[Any, Any]:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client, self._transfer_config = self._make_client()
        return self._client, self._transfer_config

    def _make_client(self) -> tuple[Any, Any]:
        from runpod.serverless.utils import rp_upload

        client, transfer_config = rp_upload.get_boto_client(self._credentials)
        if client is None:
            raise UploadFailed("S3 uploads need boto3, which is not installed")
        # get_boto_client derives the region from the endpoint URL only; an explicit region needs its own client.
        if self._region and self._region != rp_upload.extract_region_from_url(self._credentials["endpointUrl"]):
            from boto3 import session

            client = session.Session().client(
                "s3",
                endpoint_url=self._credentials["endpointUrl"],
                region_name=self._region,
                aws_access_key_id=self._credentials["accessId"],
                aws_secret_access_key=self._credentials["accessSecret"],
                config=client.meta.config,
            )
        return client, transfer_config

    def _redact(self, text: str) -> str:
        text = hide_credentials(text)
        for value in (self._credentials["accessSecret"], self._credentials["accessId"]):
            if value:
                text = text.replace(value, HIDDEN)
        return text


def _non_empty(chunks: Iterable[bytes]) -> Iterator[bytes]:
    return (chunk for chunk in chunks if chunk)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not delete temporary file %s: %s", path, exc)


def _object_headers(content_type: str) -> Optional[dict]:
    """The object's type, and for one a browser would run (HTML, SVG, JavaScript) an attachment disposition, as
    ComfyUI's /view serves them: its URL opened in a browser downloads the file instead of running its script."""
    if not content_type:
        return None
    if is_dangerous(content_type):
        return {"ContentType": content_type, "ContentDisposition": "attachment"}
    return {"ContentType": content_type}
