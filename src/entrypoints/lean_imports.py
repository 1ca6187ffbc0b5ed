"""Imports dependency-injector without the integrations it loads eagerly and the worker never uses."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

# dependency-injector imports these at import time when they are installed (runpod brings FastAPI), for
# wiring into web frameworks and Configuration.from_pydantic: about half a second of every cold start.
UNUSED_INTEGRATIONS = ("fastapi", "starlette", "flask", "werkzeug", "pydantic_settings")


@contextlib.contextmanager
def without_unused_integrations() -> Iterator[None]:
    """Within the block, importing a not-yet-imported integration fails (libraries treat that as absent)."""
    blocked = [name for name in UNUSED_INTEGRATIONS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
