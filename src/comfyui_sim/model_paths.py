"""ComfyUI's model folders on disk (folder_paths): each folder name's paths (its own `models/<folder>`, then an extra
base's `<folder>`, as an extra_model_paths.yaml entry adds it), and its file list, filtered by extension and kept until
the mtime of a folder it walked changes (folder_paths.cached_filename_list_)."""

import os
from typing import Optional

# folder_paths.supported_pt_extensions, and the folders that list other files (0.3.64)
SUPPORTED_PT_EXTENSIONS = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
EXTENSIONS = {"configs": {".yaml"}, "custom_nodes": set()}  # an empty set lists every file


class ModelPaths:
    """The paths of every model folder name under `root` (and `extra_base`), and their cached file lists."""

    def __init__(self, root: str, folders: list, extra_base: Optional[str] = None) -> None:
        self.paths: dict = {}
        for folder in folders:
            own = os.path.join(root, "custom_nodes" if folder == "custom_nodes" else os.path.join("models", folder))
            os.makedirs(own, exist_ok=True)
            extra = [os.path.join(extra_base, folder)] if extra_base and folder != "custom_nodes" else []
            self.paths[folder] = [own, *extra]
        self._cache: dict = {}  # folder -> (files, {walked folder: mtime})
        self.walks = 0  # folder lists read from disk, not from the cache

    def files(self, folder: str) -> list:
        """The files ComfyUI lists for `folder`: relative paths with '/', sorted (no paths: none)."""
        if folder not in self.paths:
            return []
        cached = self._cache.get(folder)
        if cached is None or not self._still_valid(folder, cached[1]):
            cached = self._walk(folder)
            self._cache[folder] = cached
        return list(cached[0])

    def _still_valid(self, folder: str, walked: dict) -> bool:
        for path, mtime in walked.items():
            try:
                if os.path.getmtime(path) != mtime:
                    return False
            except OSError:
                return False
        return all(path in walked for path in self.paths[folder] if os.path.isdir(path))

    def _walk(self, folder: str) -> tuple:
        self.walks += 1
        extensions = EXTENSIONS.get(folder, SUPPORTED_PT_EXTENSIONS)
        found, walked = set(), {}
        for base in self.paths[folder]:
            if not os.path.isdir(base):
                continue
            walked[base] = os.path.getmtime(base)
            for current, subfolders, names in os.walk(base, followlinks=True):
                subfolders[:] = [name for name in subfolders if name != ".git"]
                for name in subfolders:
                    walked[os.path.join(current, name)] = os.path.getmtime(os.path.join(current, name))
                for name in names:
                    relative = os.path.relpath(os.path.join(current, name), base).replace(os.sep, "/")
                    if not extensions or os.path.splitext(name)[1].lower() in extensions:
                        found.add(relative)
        return sorted(found), walked
