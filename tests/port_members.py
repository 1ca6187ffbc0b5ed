"""What a port (a `typing.Protocol` of domain.ports) names: the run-time half of the tests that prove an implementation
is its port (mypy proves the rest, from their annotated assignments; the Protocols are not runtime-checkable)."""
from __future__ import annotations


def port_members(port: type) -> set[str]:
    """The attributes and methods `port` declares (its own, public ones)."""
    return {name for name in (*vars(port), *getattr(port, "__annotations__", {})) if not name.startswith("_")}


def missing_members(implementation: object, port: type) -> list[str]:
    """The members of `port` that `implementation` lacks."""
    return sorted(port_members(port) - set(dir(implementation)))
