"""Checks, with ComfyUI's own interpreter, that the requirements.txt of each custom node folder given is installed
where ComfyUI runs from: a node whose packages went into another environment (worker-comfyui #237: comfy-cli chose a
workspace venv ComfyUI does not run from) fails to import at ComfyUI's start and its nodes are missing.

    /opt/venv/bin/python check_node_requirements.py /comfyui/custom_nodes/<node>...

Exits 1 when a requirement is missing (each named on its own line), 0 otherwise; a version other than the one asked
for is only reported (pip may have settled a conflict between two nodes that way)."""

import importlib.metadata
import pathlib
import sys

try:
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # pip's own copy: present wherever pip installed the nodes' requirements
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement


def requirement_lines(path: pathlib.Path) -> list:
    """The requirement lines of a requirements file: no comments, options (-r, --index-url, -e) or bare URLs."""
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-", ".", "/", "git+", "http://", "https://")):
            lines.append(line)
    return lines


def check(folder: pathlib.Path) -> tuple:
    """(missing, other versions) of one node folder."""
    missing, other = [], []
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        return missing, other
    for line in requirement_lines(requirements):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            print(f"check_node_requirements: {folder.name}: '{line[:80]}' is not a requirement pip names: not checked")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{folder.name}: {line}")
            continue
        if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            other.append(f"{folder.name}: {line} (installed: {version})")
    return missing, other


def main() -> int:
    missing, other = [], []
    for argument in sys.argv[1:]:
        found, differ = check(pathlib.Path(argument))
        missing += found
        other += differ
    for line in other:
        print(f"check_node_requirements: another version: {line}")
    for line in missing:
        print(f"check_node_requirements: MISSING from {sys.prefix}: {line}", file=sys.stderr)
    if not missing:
        print(f"check_node_requirements: the requirements of {len(sys.argv) - 1} node folder(s) are installed in "
              f"{sys.prefix}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
