"""Dependency floors that carry a fix the worker relies on, in every place that declares the dependency."""
import importlib.metadata
import pathlib

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CLIENT = tomllib.loads((ROOT / "src/comfy_runpod_client/pyproject.toml").read_text())["project"]
DECLARED = {
    "worker": WORKER["dependencies"],
    "client extra": WORKER["optional-dependencies"]["client"],
    "client package": CLIENT["dependencies"],
}
# urllib3 2.6 bounds what a compressed body may decompress to per read (a gzip bomb behind a URL input, or an
# s3_url the client downloads, is then held to the size caps as it streams)
FLOORS = {"urllib3": ("2.5.0", "2.6.0")}  # the last version refused, the first accepted


@pytest.mark.parametrize("where", DECLARED)
@pytest.mark.parametrize("name", FLOORS)
def test_the_floor_is_declared(where, name):
    requirements = [Requirement(line) for line in DECLARED[where] if Requirement(line).name == name]
    assert requirements, f"{name} is not declared in the {where}'s dependencies"
    refused, accepted = FLOORS[name]
    assert all(not r.specifier.contains(refused) and r.specifier.contains(accepted) for r in requirements)


@pytest.mark.parametrize("name", FLOORS)
def test_the_installed_version_meets_every_declared_requirement(name):
    installed = importlib.metadata.version(name)
    for where, lines in DECLARED.items():
        for requirement in (Requirement(line) for line in lines):
            if requirement.name == name:
                assert requirement.specifier.contains(installed), (where, str(requirement), installed)
