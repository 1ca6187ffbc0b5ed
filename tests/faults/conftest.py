"""Fixtures of the fault and bad-input matrices."""
from faults.harness import leaks  # noqa: F401  (the fixture)
