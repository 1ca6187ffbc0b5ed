"""What request handlers find on the aiohttp app: the running simulator (as a protocol) and the server's features."""

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Protocol

from aiohttp import web

from .faults import Faults
from .paths import Dirs
from .state import SimState


class RunningSimulator(Protocol):
    """The parts of `ComfySimulator` the handlers and the prompt worker use; `state` is replaced on a restart."""

    faults: Faults
    dirs: Dirs
    pool: ThreadPoolExecutor
    state: Optional[SimState]
    received_ws_messages: list


SIM: "web.AppKey[RunningSimulator]" = web.AppKey("sim")
# save_image_websocket_metadata.json: the server's reply to a client's feature_flags message (same as GET /features)
SERVER_FEATURES = {
    "supports_preview_metadata": True,
    "max_upload_size": 104857600,
    "extension": {"manager": {"supports_v4": True}},
}
