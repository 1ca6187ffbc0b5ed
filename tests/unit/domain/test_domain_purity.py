"""The domain imports only the standard library and itself, and never reads the environment."""
import ast
import os
import pathlib
import re
import subprocess
import sys

DOMAIN = pathlib.Path(__file__).resolve().parents[3] / "src" / "domain"


def _imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_domain_import_is_the_standard_library_or_the_domain():
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    for path in sorted(DOMAIN.rglob("*.py")):
        outside = _imported_roots(ast.parse(path.read_text())) - allowed
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_domain_tests_drive_the_domain_through_its_ports_not_the_edge():
    """They assert on the use case's verdict, not on the entrypoints' answers or parser (tests/unit/entrypoints)."""
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        edge = _imported_roots(ast.parse(path.read_text())) & {"entrypoints", "adapters"}
        assert not edge, f"{path.name} imports {sorted(edge)}"


def test_importing_the_domain_loads_only_the_standard_library():
    modules = [".".join(("domain", *p.relative_to(DOMAIN).with_suffix("").parts)) for p in DOMAIN.rglob("*.py")
               if p.stem != "__init__"]
    assert len(modules) > 20
    code = "import sys\nbefore = set(sys.modules)\n" + "".join(f"import {m}\n" for m in modules) + (
        "allowed = set(sys.stdlib_module_names) | {'domain'}\n"
        "bad = sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in allowed)\n"
        "print(','.join(bad))"
    )
    env = {"PYTHONPATH": str(DOMAIN.parent), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""


def test_no_domain_module_reads_the_environment():
    for path in DOMAIN.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not ({"environ", "getenv"} & names), path.name
        assert "os" not in _imported_roots(tree), path.name


def _strings_outside_docstrings(tree: ast.AST) -> list[str]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_domain_message_names_a_variable():
    """The domain names its limits; the edge tells the caller which variable sets them (entrypoints.answers)."""
    configuration = (DOMAIN.parents[1] / "docs" / "configuration.md").read_text()
    variables = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", configuration, flags=re.MULTILINE))
    assert {"MAX_RESPONSE_BYTES", "INPUT_MAX_BYTES", "BUCKET_ENDPOINT_URL"} <= variables
    for path in sorted(DOMAIN.rglob("*.py")):
        for text in _strings_outside_docstrings(ast.parse(path.read_text())):
            named = [variable for variable in variables if re.search(rf"\b{variable}\b", text)]
            assert not named, f"{path.name}: {text!r} names {named}"
