"""Model files a job asks for by URL: the request, its outcome and the naming rules (the port: `ports.ModelStore`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal, Optional
from urllib.parse import unquote, urlsplit

from domain.errors import clip

ModelOutcome = Literal["cached", "downloaded"]
ModelPlan = Literal["present", "fetch"]
BytesListener = Callable[[int, Optional[int]], None]  # (bytes done, bytes in all when known)

MAX_NAME_BYTES = 255
MAX_NAME_PARTS = 8  # "a/b/.../f.safetensors": seven folders at most under the model folder
MAX_FOLDER_CHARS = 64
# ComfyUI's `GET /models` also lists custom_nodes: a file there is code ComfyUI runs, never a model
NOT_MODEL_FOLDERS = frozenset({"custom_nodes"})
# the extensions ComfyUI lists model files with (folder_paths.supported_pt_extensions), and those custom nodes add
MODEL_EXTENSIONS = (
    ".safetensors",
    ".sft",
    ".ckpt",
    ".pt",
    ".pt2",
    ".pth",
    ".bin",
    ".gguf",
    ".onnx",
    ".pkl",
    ".engine",
    ".pb",
    ".tflite",
)
# what a downloaded file's name may end with: ComfyUI lists a folder's files by extension, so a name without one
# (Civitai's download URLs end in a number) would never be seen; configs are .yaml
NAME_EXTENSIONS = (*MODEL_EXTENSIONS, ".yaml")
_FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ModelRequest:
    """One file a job needs in a ComfyUI model folder: `folder/name`, downloaded from `url` when it is not there.

    `sha256` (64 lowercase hex digits) pins the file's bytes when given."""

    url: str
    folder: str
    name: str
    sha256: Optional[str] = None


@dataclass(frozen=True)
class ModelReady:
    """A model file in place for the job: found there (`cached`) or downloaded by this call (`downloaded`).

    `bytes_moved` is what this call took from the network (less than `size_bytes` when a download resumed, 0 when
    cached); `seconds` includes waiting for another job's download of the same file."""

    request: ModelRequest
    outcome: ModelOutcome
    size_bytes: int
    seconds: float
    bytes_moved: int = 0


@dataclass(frozen=True)
class ModelPlanned:
    """What a run would do for a model file, told by a dry run: nothing (`present`) or download it (`fetch`)."""

    request: ModelRequest
    plan: ModelPlan


def default_name(url: str) -> str:
    """The URL path's last segment, percent-decoded ("" when there is none)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return unquote(path.rstrip("/").rpartition("/")[2])


def source_of(url: str) -> str:
    """Where a model comes from, as records compare and messages show it: `scheme://host[:port]/path`.

    Credentials, query string and fragment are left out: they carry tokens and per-request signatures (presigned
    URLs change on every request for the same file) and must be neither stored nor shown. The scheme and host
    are lowercased and a default port dropped; the path is kept as given. Where a query picks one of several files
    (a format or precision switch), the caller tells them apart with `sha256` or another name."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return "an unparsable URL"
    scheme = parts.scheme.lower()
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    shown_host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown_host}{f':{port}' if port else ''}{parts.path or '/'}"


def shown_source(url: str) -> str:
    """`source_of(url)` cut for a message."""
    return clip(source_of(url))


def folder_problem(folder: object) -> Optional[str]:
    """Why `folder` cannot be a model folder name (None when it can); ComfyUI's own list is checked elsewhere."""
    if not isinstance(folder, str) or not folder:
        return "must be a non-empty string"
    if len(folder) > MAX_FOLDER_CHARS or not _FOLDER.fullmatch(folder):
        return "must be one of ComfyUI's model folder names (letters, digits, '_', '-', '.')"
    if folder in NOT_MODEL_FOLDERS:
        return "holds ComfyUI's custom nodes, not models"
    return None


def name_problem(name: object) -> Optional[str]:
    """Why `name` cannot be a file name (or a path of folders and a file name) under a model folder."""
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty string"
    if len(name.encode("utf-8", errors="replace")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes (file systems refuse it)"
    for bad, label in (("\\", "'\\'"), ("..", "'..'")):
        if bad in name:
            return f"must not contain {label}"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "must not contain control characters"
    if name.startswith("/"):
        return "must not start with '/': names are paths in the model folder"
    parts = name.split("/")
    if "" in parts:
        return "has an empty part: a '/' at its end or two in a row"
    if len(parts) > MAX_NAME_PARTS:
        return f"is more than {MAX_NAME_PARTS - 1} folders deep"
    if any(not part.replace(".", "").strip() for part in parts):
        return "names no file: a part is only dots and spaces"
    return None


def extension_problem(name: str) -> Optional[str]:
    """Why ComfyUI would never list a file of this name (None when it would, as far as extensions go)."""
    if name.lower().endswith(NAME_EXTENSIONS):
        return None
    return (
        "does not end with a model file extension (.safetensors, .ckpt, .pt, .pth, .bin, .gguf, ...): ComfyUI lists "
        "only such files; give the name with the file's extension"
    )


def sha256_problem(value: object) -> Optional[str]:
    """Why `value` is not a sha256 in hex (None when it is)."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        return "must be 64 hexadecimal digits"
    return None
