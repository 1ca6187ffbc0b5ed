"""Deletes a job's files from ComfyUI's input, output and temp folders, never outside them (the filesystem)."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Callable, Iterable, Optional

from domain.model import OutputRef

log = logging.getLogger(__name__)


class FolderCleaner:
    """Implements the `JobFileCleaner` port for the folders it is given; a folder not given is never touched."""

    def __init__(self, *, input_dir: Optional[str], output_dir: Optional[str], temp_dir: Optional[str]) -> None:
        self._dirs = {
            kind: os.path.realpath(path)
            for kind, path in (("input", input_dir), ("output", output_dir), ("temp", temp_dir))
            if path
        }

    def remove(self, folder: str, files: Iterable[OutputRef]) -> None:
        done = [self._delete(base, folder, shutil.rmtree) for base in self._dirs.values()]
        for ref in files:
            base = self._dirs.get(ref.folder_type)
            if base is not None:
                done.append(self._delete(base, os.path.join(ref.subfolder, ref.filename), os.unlink))
        log.info(
            "deleted the job's files from ComfyUI's folders (%d removed, %d failed)",
            done.count(True),
            done.count(False),
        )

    def _delete(self, base: str, relative: str, delete: Callable[[str], None]) -> Optional[bool]:
        """Delete `base/relative` (a folder with `shutil.rmtree`, a file with `os.unlink`) if it is there and
        inside `base`; None when there was nothing to delete."""
        path = self._inside(base, relative)
        is_folder = delete is shutil.rmtree
        if path is None or not (os.path.lexists(path)):
            return None
        if os.path.islink(path) or not is_folder:
            delete = os.unlink
        elif not os.path.isdir(path):
            return None
        try:
            delete(path)
        except OSError as exc:
            log.warning("could not delete %s: %s", path, exc)
            return False
        return True

    @staticmethod
    def _inside(base: str, relative: str) -> Optional[str]:
        """`base/relative` if it is inside `base` once every link on the way is followed (and not `base` itself);
        the last part is not followed: a link there is deleted as a link, never what it points at."""
        if not relative or os.path.isabs(relative) or "\0" in relative:
            return None  # a NUL cannot be in a file's name; the filesystem refuses it
        joined = os.path.join(base, relative)
        parent = os.path.realpath(os.path.dirname(joined))
        path = os.path.join(parent, os.path.basename(joined))
        if os.path.commonpath((base, parent)) != base or os.path.normpath(path) == base or ".." in relative.split("/"):
            log.warning("not deleting %r: it is outside ComfyUI's folder", relative[:200])
            return None
        return path
