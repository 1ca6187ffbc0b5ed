"""What request handlers find on the aiohttp app: the running simulator (as a protocol) and the server's features."""

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Protocol

from aiohttp import web

from .faults import Faults
from .paths import Dirs
from .state import SimState
from .versions import Profile


class RunningSimulator(Protocol):
    """The parts of `ComfySimulator` the handlers and the prompt worker use; `state` is replaced on a restart."""

    faults: Faults
    profile: Profile
    enable_assets: bool
    dirs: Dirs
    pool: ThreadPoolExecutor
    state: Optional[SimState]
    received_ws_messages: list
    received_interrupts: list
    received_cancels: list


SIM: "web.AppKey[RunningSimulator]" = web.AppKey("sim")
