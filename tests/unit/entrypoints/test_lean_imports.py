"""Building the container loads none of the web-framework integrations dependency-injector would pull in."""
import os
import pathlib
import subprocess
import sys

SRC = pathlib.Path(__file__).resolve().parents[3] / "src"

CODE = """
import sys
from entrypoints.container import build_container
build_container({}).job_runner()
loaded = sorted(m for m in ("fastapi", "starlette", "flask", "werkzeug", "pydantic_settings", "pydantic", "boto3")
                if m in sys.modules)
import pydantic  # still importable afterwards, for the SDK
print(",".join(loaded), "|", pydantic.VERSION.split(".")[0])
"""


def test_the_container_imports_no_unused_integration_and_they_stay_importable():
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded, major = (part.strip() for part in done.stdout.split("|"))
    assert loaded == ""
    assert major.isdigit()
