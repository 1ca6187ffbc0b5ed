"""docs/configuration.md documents every variable the code and the start script read, and no other."""
import pathlib
import re

from deploy.settings_reader import PLATFORM, ROOT, read_variables

DOC = ROOT / "docs" / "configuration.md"
START = ROOT / "scripts" / "start.sh"


def documented() -> set:
    """The back-quoted names in the first column of the document's tables."""
    names = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def read_by_start_script() -> set:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", START.read_text()))


def test_every_variable_read_is_documented():
    missing = (read_variables() | read_by_start_script()) - documented()
    assert not missing, f"read but not in docs/configuration.md: {sorted(missing)}"


def test_every_documented_variable_is_read():
    unread = documented() - read_variables() - read_by_start_script() - PLATFORM
    assert not unread, f"documented but read by nothing: {sorted(unread)}"


def test_the_doc_is_linked_from_the_readme():
    assert "docs/configuration.md" in (ROOT / "README.md").read_text()
    assert pathlib.Path(DOC).exists()


def test_the_deployment_doc_gives_comfyui_cmd_the_same_default():
    """The start script's variable, in both documents' tables: one default, in the script's words."""
    def default(doc: pathlib.Path) -> str:
        [row] = [line for line in doc.read_text().splitlines() if line.startswith("| `COMFYUI_CMD` |")]
        return row.split(" | ")[1]

    assert default(DOC) == default(ROOT / "docs" / "deployment.md")
    assert "--disable-auto-launch" in START.read_text() and "--disable-metadata" in START.read_text()
