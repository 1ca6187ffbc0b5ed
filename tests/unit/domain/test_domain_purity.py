"""The domain imports only the standard library and never reads the environment."""
import ast
import pathlib
import subprocess
import sys

DOMAIN = pathlib.Path(__file__).resolve().parents[3] / "src" / "domain"
FORBIDDEN = ("runpod", "requests", "websocket", "boto3", "botocore", "dependency_injector", "adapters", "entrypoints")


def test_importing_the_domain_loads_no_third_party_module():
    modules = [f"domain.{p.stem}" for p in DOMAIN.glob("*.py") if p.stem != "__init__"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\nprint(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(DOMAIN.parent)})
    assert out.stdout.strip() == ""


def test_no_domain_module_reads_the_environment():
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        assert not ({"environ", "getenv"} & names), path.name
        assert "os" not in imported, path.name
