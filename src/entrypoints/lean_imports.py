"""Imports dependency-injector without the integrations it loads eagerly and the worker never uses."""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from typing import Iterator, Optional, Sequence

# dependency-injector imports these at import time when they are installed (runpod brings FastAPI and
# pydantic), for wiring into web frameworks and Configuration.from_pydantic: about half a second of every
# cold start.
UNUSED_INTEGRATIONS = ("fastapi", "starlette", "flask", "werkzeug", "pydantic_settings", "pydantic")


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes importing the named top-level packages fail, as if they were not installed."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = set(names)

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None, target: object = None) -> None:
        if fullname.split(".")[0] in self._names:
            raise ModuleNotFoundError(f"{fullname} is not needed by the worker", name=fullname)
        return None


@contextlib.contextmanager
def without_unused_integrations() -> Iterator[None]:
    """Within the block, importing a not-yet-imported integration fails (libraries treat that as absent)."""
    finder = _Refuse([name for name in UNUSED_INTEGRATIONS if name not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
