"""The simulator's input/, output/ and temp/ folders and ComfyUI's rules for names inside them."""

import os
import shutil
from typing import Optional

from PIL import Image

from .model_paths import ModelPaths


class Dirs:
    """A per-instance folder tree; ComfyUI ships input/example.png (http_probes.json input_example)."""

    def __init__(
        self, root: str, models: Optional[dict] = None, model_folders: tuple = (), extra_models: Optional[str] = None
    ) -> None:
        self.root = root
        self.models = models if models is not None else {}
        self.model_paths = ModelPaths(root, list(model_folders), extra_models)
        self.input = os.path.join(root, "input")
        self.output = os.path.join(root, "output")
        self.temp = os.path.join(root, "temp")
        for folder in (self.input, self.output, self.temp):
            os.makedirs(folder, exist_ok=True)
        example = os.path.join(self.input, "example.png")
        if not os.path.exists(example):
            Image.new("RGB", (64, 64), (200, 120, 40)).save(example)

    def model_files(self, folder: str) -> list[str]:
        """The model files of `folder`: those a test installed by name (`ComfySimulator(models={"checkpoints": [...]})`)
        and those on disk in the folder's paths, listed as ComfyUI lists them."""
        return sorted(set(self.models.get(folder, [])) | set(self.model_paths.files(folder)))

    def by_type(self, kind: Optional[str]) -> Optional[str]:
        if kind is None:
            return None
        return {"output": self.output, "input": self.input, "temp": self.temp}.get(kind)

    def clear_temp(self) -> None:
        """ComfyUI empties temp/ when it starts."""
        shutil.rmtree(self.temp, ignore_errors=True)
        os.makedirs(self.temp, exist_ok=True)

    def annotated(self, name: str) -> tuple[str, Optional[str]]:
        """`name [output]` / `[input]` / `[temp]` pick the folder (http_probes.json annotated_input)."""
        for kind in ("output", "input", "temp"):
            suffix = f"[{kind}]"
            if name.endswith(suffix):
                return name[: -len(suffix) - 1], self.by_type(kind)
        return name, None

    def input_files(self) -> list[str]:
        out = []
        for base, _, files in os.walk(self.input):
            rel = os.path.relpath(base, self.input)
            out += [f if rel == "." else f"{rel}/{f}" for f in files]
        return sorted(out)

    def input_subfolders(self) -> list[str]:
        out = []
        for base, _, _ in os.walk(self.input):
            rel = os.path.relpath(base, self.input)
            if rel != ".":
                out.append(rel.replace(os.sep, "/"))
        return sorted(out)

    def input_exists(self, name: str) -> bool:
        name, base = self.annotated(name)
        return os.path.isfile(os.path.join(base or self.input, name))

    def input_path(self, name: str) -> str:
        name, base = self.annotated(name)
        return os.path.join(base or self.input, name)

    def written_files(self) -> list[str]:
        out = []
        for top in ("output", "temp"):
            for base, _, files in os.walk(os.path.join(self.root, top)):
                out += [os.path.relpath(os.path.join(base, f), self.root).replace(os.sep, "/") for f in files]
        return sorted(out)


def save_path(prefix: str, base_dir: str) -> tuple[str, str, int, str]:
    """folder_paths.get_save_image_path: subfolder from the prefix, next counter per prefix across extensions."""
    subfolder = os.path.dirname(os.path.normpath(prefix))
    filename = os.path.basename(os.path.normpath(prefix))
    folder = os.path.join(base_dir, subfolder)
    if os.path.commonpath((base_dir, os.path.abspath(folder))) != base_dir:
        raise Exception(
            "**** ERROR: Saving image outside the output folder is not allowed.\n"
            f" full_output_folder: {os.path.abspath(folder)}\n output_dir: {base_dir}"
        )
    os.makedirs(folder, exist_ok=True)
    counter = 0
    for existing in os.listdir(folder):
        head, rest = existing[: len(filename) + 1], existing[len(filename) + 1 :]
        try:
            digits = int(rest.split("_")[0])
        except ValueError:
            digits = 0
        if os.path.normcase(head[:-1]) == os.path.normcase(filename) and head[-1:] == "_":
            counter = max(counter, digits)
    return folder, filename, counter + 1, subfolder
