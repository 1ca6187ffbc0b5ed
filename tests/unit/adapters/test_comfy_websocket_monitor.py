"""The websocket stream with a scripted socket at the websocket-client edge: frames, losses, pings."""
import json
from types import SimpleNamespace

import pytest
import websocket
from pytest_mock import MockerFixture
from websocket import ABNF

from adapters.comfy_websocket_monitor import FEATURE_FLAGS, ComfyWebsocketMonitor
from domain.budget import Budget
from domain.errors import ComfyUnreachable
from domain.execution.events import PromptFinished, SocketLost
from unit.domain.fakes import FakeClock

TIMEOUT = websocket.WebSocketTimeoutException("timed out")


def text(kind, **data):
    return ABNF.OPCODE_TEXT, SimpleNamespace(data=json.dumps({"type": kind, "data": data}).encode())


class ScriptedSocket:
    def __init__(self, script):
        self.script = list(script)
        self.sent, self.pings, self.closed = [], 0, False
        self.sock = self  # what select() is asked about

    def settimeout(self, _):
        pass

    def send(self, message):
        self.sent.append(message)

    def ping(self):
        self.pings += 1

    def recv_data_frame(self, control_frame=False):
        assert control_frame
        if not self.script:
            raise TIMEOUT
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self, timeout=None):
        self.closed = True


@pytest.fixture
def sockets(mocker: MockerFixture) -> SimpleNamespace:
    made: list[ScriptedSocket] = []

    def connect(url, timeout, skip_utf8_validation=False):
        sock = ScriptedSocket(made_scripts.pop(0) if made_scripts else [])
        sock.url = url
        made.append(sock)
        return sock

    made_scripts: list[list] = []
    mocker.patch("adapters.comfy_websocket_monitor.websocket.create_connection", side_effect=connect)
    # a scripted socket is readable while its script holds something that is not a timeout
    mocker.patch("adapters.comfy_websocket_monitor.select.select",
                 side_effect=lambda r, w, x, t: ([s for s in r if s.script and s.script[0] is not TIMEOUT], [], []))
    return SimpleNamespace(made=made, scripts=made_scripts)


def test_opens_with_the_client_id_and_asks_for_image_metadata(sockets):
    sockets.scripts.append([text("executing", node=None, prompt_id="p")])
    monitor = ComfyWebsocketMonitor("h:1")
    with monitor.open("cid-9", Budget()) as stream:
        assert stream.next_event(1.0) == PromptFinished("p")
    [sock] = sockets.made
    assert sock.url == "ws://h:1/ws?clientId=cid-9"
    assert sock.sent[0] == FEATURE_FLAGS
    assert not sock.closed  # kept for the next job of this client id
    monitor.close()
    assert sock.closed


def test_the_next_job_of_a_client_id_reuses_its_socket_after_dropping_stale_frames(sockets):
    sockets.scripts.append([text("executing", node=None, prompt_id="old")])
    monitor = ComfyWebsocketMonitor("h:1")
    with monitor.open("c", Budget()):
        pass
    with monitor.open("c", Budget()) as stream:
        assert sockets.made[0].script == []  # the stale frame was dropped
        sockets.made[0].script.append(text("executing", node=None, prompt_id="new"))
        assert stream.next_event(1.0) == PromptFinished("new")
    assert len(sockets.made) == 1
    with monitor.open("other", Budget()):
        assert len(sockets.made) == 2


def test_a_socket_that_died_while_idle_is_replaced(sockets):
    sockets.scripts.append([websocket.WebSocketConnectionClosedException("gone")])
    monitor = ComfyWebsocketMonitor("h:1")
    with monitor.open("c", Budget()):
        pass
    with monitor.open("c", Budget()):
        pass
    assert len(sockets.made) == 2 and sockets.made[0].closed


def test_a_closed_socket_is_reported_once_and_closed(sockets):
    sockets.scripts.append([websocket.WebSocketConnectionClosedException("Connection to remote host was lost.")])
    with ComfyWebsocketMonitor("h:1").open("c", Budget()) as stream:
        event = stream.next_event(1.0)
        assert isinstance(event, SocketLost) and "lost" in event.reason
        assert sockets.made[0].closed
        assert isinstance(stream.next_event(1.0), SocketLost)


def test_a_close_frame_counts_as_lost(sockets):
    sockets.scripts.append([(ABNF.OPCODE_CLOSE, SimpleNamespace(data=b""))])
    with ComfyWebsocketMonitor("h:1").open("c", Budget()) as stream:
        assert isinstance(stream.next_event(1.0), SocketLost)


def test_silence_sends_a_ping_and_a_missing_pong_counts_as_lost(sockets):
    clock = FakeClock(100.0)
    monitor = ComfyWebsocketMonitor("h:1", ping_interval_s=2, pong_timeout_s=3, clock=clock)
    with monitor.open("c", Budget()) as stream:
        clock.advance(1.0)
        assert stream.next_event(0.1) is None
        assert sockets.made[0].pings == 0
        clock.advance(1.5)
        assert stream.next_event(0.1) is None
        assert sockets.made[0].pings == 1
        clock.advance(1.5)
        assert stream.next_event(0.1) is None  # pong not yet overdue
        clock.advance(1.6)
        event = stream.next_event(0.1)
        assert isinstance(event, SocketLost) and "ping" in event.reason


def test_a_pong_keeps_the_socket_alive(sockets):
    clock = FakeClock(100.0)
    sockets.scripts.append([TIMEOUT, (ABNF.OPCODE_PONG, SimpleNamespace(data=b""))])
    monitor = ComfyWebsocketMonitor("h:1", ping_interval_s=2, pong_timeout_s=3, clock=clock)
    with monitor.open("c", Budget()) as stream:
        clock.advance(2.5)
        assert stream.next_event(0.1) is None  # ping sent, then the recv timed out
        clock.advance(1.5)
        assert stream.next_event(0.1) is None  # the pong
        clock.advance(1.9)
        assert stream.next_event(0.1) is None
        assert sockets.made[0].pings == 1


def test_reopen_replaces_the_socket_and_refusal_is_unreachable(sockets, mocker):
    with ComfyWebsocketMonitor("h:1").open("c", Budget()) as stream:
        stream.reopen(Budget())
        assert len(sockets.made) == 2 and sockets.made[0].closed
        mocker.patch("adapters.comfy_websocket_monitor.websocket.create_connection",
                     side_effect=ConnectionRefusedError(111, "refused"))
        with pytest.raises(ComfyUnreachable, match="cannot open the websocket"):
            stream.reopen(Budget())
