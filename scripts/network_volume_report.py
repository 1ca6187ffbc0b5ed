"""NETWORK_VOLUME_DEBUG's report, logged once before ComfyUI starts: which model folders extra_model_paths.yaml points
ComfyUI at, what ComfyUI will list in each (the names a workflow uses), and the usual mistakes of a network volume's
layout (a folder ComfyUI does not read, a file it ignores, models left where a Pod's ComfyUI kept them).

    python network_volume_report.py /comfyui/extra_model_paths.yaml

Read-only, bounded (it stops listing after MAX_ENTRIES entries), and never fails the start: it always exits 0."""

import difflib
import os
import sys

import yaml  # ComfyUI's own requirement: it reads this file with it

PREFIX = "network_volume:"
MAX_ENTRIES = 20000  # entries visited in all, so that a huge volume cannot hold the start up
SHOWN_PER_FOLDER = 20
MISPLACED_DEPTH = 4
# ComfyUI's folder_paths: most model folders take these extensions; a few take others
MODEL_EXTENSIONS = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
FOLDER_EXTENSIONS = {"configs": {".yaml"}, "diffusers": None, "classifiers": set()}  # None: folders; empty: any file


def say(line: str) -> None:
    """One log line, whatever the text held (an exception's message may span lines)."""
    print(f"{PREFIX} {' '.join(line.splitlines())}", flush=True)


def configured_folders(config_path: str) -> tuple[list, dict]:
    """(base paths, folder name -> [absolute paths]) as ComfyUI's utils/extra_config.py reads the file."""
    with open(config_path, encoding="utf-8") as stream:
        config = yaml.safe_load(stream) or {}
    config_dir = os.path.dirname(os.path.abspath(config_path))
    bases, folders = [], {}
    for section in config.values():
        if not isinstance(section, dict):
            continue
        section = dict(section)
        base = section.pop("base_path", None)
        section.pop("is_default", None)
        if base:
            base = os.path.expandvars(os.path.expanduser(str(base)))
            base = base if os.path.isabs(base) else os.path.abspath(os.path.join(config_dir, base))
            bases.append(base)
        for name, value in section.items():
            if not isinstance(value, str):
                continue
            for entry in filter(None, value.split("\n")):
                path = os.path.join(base, entry) if base else entry
                path = path if os.path.isabs(path) else os.path.abspath(os.path.join(config_dir, path))
                folders.setdefault(name, []).append(os.path.normpath(path))
    return bases, folders


class Budget:
    """The entries left to visit; listing stops, and says so, when none are."""

    def __init__(self, entries: int) -> None:
        self.left = entries
        self.exhausted = False

    def take(self) -> bool:
        self.left -= 1
        self.exhausted = self.exhausted or self.left < 0
        return not self.exhausted


def size_text(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def accepted(folder_name: str, file_name: str) -> bool:
    extensions = FOLDER_EXTENSIONS.get(folder_name, MODEL_EXTENSIONS)
    return extensions is not None and (not extensions or os.path.splitext(file_name)[1].lower() in extensions)


def report_folder(name: str, path: str, budget: Budget, problems: list) -> int:
    """Logs what ComfyUI lists in one folder (names relative to it, as a workflow gives them); returns the count,
    -1 for a folder that does not exist."""
    if not os.path.isdir(path):
        return -1
    listed, ignored = [], []
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs.sort()
        if FOLDER_EXTENSIONS.get(name, MODEL_EXTENSIONS) is None:  # diffusers: each model is a folder
            listed += [(d, 0) for d in dirs]
            break
        for file_name in sorted(files):
            if not budget.take():
                break
            relative = os.path.relpath(os.path.join(root, file_name), path).replace(os.sep, "/")
            if accepted(name, file_name):
                try:
                    listed.append((relative, os.path.getsize(os.path.join(root, file_name))))
                except OSError:
                    listed.append((relative, 0))
            elif not file_name.startswith("."):
                ignored.append(relative)
    if not listed:
        say(f"{name}: {path}: empty" + (f" ({len(ignored)} files ComfyUI ignores)" if ignored else ""))
    else:
        shown = ", ".join(f"{rel} ({size_text(size)})" for rel, size in listed[:SHOWN_PER_FOLDER])
        more = f", and {len(listed) - SHOWN_PER_FOLDER} more" if len(listed) > SHOWN_PER_FOLDER else ""
        say(f"{name}: {len(listed)} in {path}: {shown}{more}")
    for relative in ignored[:SHOWN_PER_FOLDER]:
        extensions = FOLDER_EXTENSIONS.get(name, MODEL_EXTENSIONS) or set()
        problems.append(f"{path}/{relative}: ignored by ComfyUI, which reads {' '.join(sorted(extensions))} in {name}")
    return len(listed)


def unknown_folders(models_root: str, folders: dict, budget: Budget, problems: list) -> None:
    """Folders and model files straight in the models root that no configured folder covers."""
    known = {os.path.basename(path): name for name, paths in folders.items() for path in paths
             if os.path.dirname(path) == models_root}
    try:
        entries = sorted(os.listdir(models_root))
    except OSError:
        return
    for entry in entries:
        if not budget.take() or entry in known or entry.startswith("."):
            continue
        full = os.path.join(models_root, entry)
        if os.path.isdir(full):
            guess = next((k for k in known if k.lower() == entry.lower()), None) or \
                next(iter(difflib.get_close_matches(entry.lower(), list(known), n=1, cutoff=0.6)), None)
            hint = f" (did you mean {guess}/?)" if guess else ""
            problems.append(f"{full}/: not a folder ComfyUI reads models from{hint}")
        elif os.path.splitext(entry)[1].lower() in MODEL_EXTENSIONS:
            problems.append(f"{full}: a model outside every model folder (checkpoints/, loras/, ...): ComfyUI ignores it")


def misplaced_models(base: str, folders: dict, models_root: str, budget: Budget, problems: list) -> None:
    """Model files elsewhere on the volume (a Pod's ComfyUI/models, say), where ComfyUI does not look."""
    covered = {path for paths in folders.values() for path in paths} | {models_root}
    found = []
    for root, dirs, files in os.walk(base):
        depth = os.path.relpath(root, base).count(os.sep)
        dirs[:] = sorted(d for d in dirs if os.path.join(root, d) not in covered and not d.startswith("."))
        if depth >= MISPLACED_DEPTH:
            dirs[:] = []
        for file_name in files:
            if not budget.take():
                dirs[:] = []
                break
            if os.path.splitext(file_name)[1].lower() in MODEL_EXTENSIONS:
                found.append(os.path.join(root, file_name))
    for path in found[:SHOWN_PER_FOLDER]:
        problems.append(f"{path}: a model outside the folders ComfyUI reads; on this worker they are under "
                        f"{models_root}/<folder>/ (a Pod's /workspace is this {base})")
    if len(found) > SHOWN_PER_FOLDER:
        problems.append(f"and {len(found) - SHOWN_PER_FOLDER} more models outside those folders")


def report(config_path: str) -> None:
    say("the network volume's model folders (NETWORK_VOLUME_DEBUG)")
    if not os.path.isfile(config_path):
        say(f"PROBLEM: {config_path} does not exist: ComfyUI reads no model folder outside its own models/")
        return
    try:
        bases, folders = configured_folders(config_path)
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        say(f"PROBLEM: {config_path} cannot be read: {type(exc).__name__}: {str(exc)[:200]}")
        return
    config_path = os.path.abspath(config_path)
    say(f"{config_path}: {len(folders)} model folders, base {', '.join(bases) or '(none)'}")
    budget, problems, models, absent = Budget(MAX_ENTRIES), [], 0, []
    for base in bases:
        if not os.path.isdir(base):
            say(f"PROBLEM: {base} does not exist: no network volume is attached to this endpoint (or it is "
                "mounted elsewhere)")
            return
        say(f"{base}: {'a mount point' if os.path.ismount(base) else 'a folder (not a mount point)'}")
    for name in sorted(folders):
        for path in folders[name]:
            count = report_folder(name, path, budget, problems)
            if count < 0:
                absent.append(os.path.basename(path))
            models += max(count, 0)
    if absent:
        say(f"not on the volume (fine when unused): {', '.join(sorted(absent))}")
    for base in bases:
        inside = [path for paths in folders.values() for path in paths if path.startswith(base + os.sep)]
        if not inside:
            continue
        models_root = os.path.commonpath(inside)
        models_root = models_root if models_root != base and models_root not in inside else os.path.dirname(inside[0])
        if not os.path.isdir(models_root):
            problems.append(f"{models_root}/ does not exist: models go in {models_root}/<folder>/ "
                            "(checkpoints/, loras/, vae/, ...)")
            continue
        unknown_folders(models_root, folders, budget, problems)
        misplaced_models(base, folders, models_root, budget, problems)
    for problem in problems:
        say(f"PROBLEM: {problem}")
    if budget.exhausted:
        say(f"the listing stopped after {MAX_ENTRIES} entries: the counts above are partial")
    say(f"summary: {models} models ComfyUI will list, {len(problems)} problems")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 0
    try:
        report(sys.argv[1])
    except Exception as exc:  # a diagnostic never stops the worker
        say(f"the report failed: {type(exc).__name__}: {str(exc)[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
