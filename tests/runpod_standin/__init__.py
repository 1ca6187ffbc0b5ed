"""A loopback stand-in for RunPod: the worker-side job loop and the public endpoint API."""
from .server import RunpodStandIn

__all__ = ["RunpodStandIn"]
