"""Websocket message handling of the monitor, with a scripted socket at the websocket-client edge."""
import json
import time

import pytest
import websocket

from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor, SocketPolicy
from domain.errors import ComfyUnreachable, ExecutionInterrupted, JobTimedOut, PromptLost
from domain.model import Outcome, Progress, PromptState

PID = "p-1"
CLOSED = websocket.WebSocketConnectionClosedException("Connection to remote host was lost.")
TIMEOUT = websocket.WebSocketTimeoutException("timed out")


def frame(kind, **data):
    return json.dumps({"type": kind, "data": data})


SUCCESS_RUN = [
    frame("status", status={"exec_info": {"queue_remaining": 0}}, sid="c"),
    frame("execution_start", prompt_id=PID, timestamp=1),
    frame("execution_cached", nodes=[], prompt_id=PID, timestamp=1),
    frame("executing", node="1", display_node="1", prompt_id=PID),
    frame("progress", value=1, max=2, prompt_id=PID, node="1"),
    frame("executed", node="2", display_node="2", output={"images": []}, prompt_id=PID),
    frame("execution_success", prompt_id=PID, timestamp=2),
    frame("status", status={"exec_info": {"queue_remaining": 0}}),
    frame("executing", node=None, prompt_id=PID),
]


class ScriptedSocket:
    def __init__(self, script):
        self.script = list(script)
        self.closed = False

    def settimeout(self, _):
        pass

    def recv(self):
        if not self.script:
            raise TIMEOUT
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self):
        self.closed = True


@pytest.fixture
def sockets(mocker):
    """Each create_connection returns the next scripted socket or raises the next exception."""
    plan = []
    made = []

    def create_connection(url, timeout):
        item = plan.pop(0)
        if isinstance(item, BaseException):
            raise item
        made.append(item)
        return item

    mock = mocker.patch("adapters.comfy_websocket_monitor.websocket.create_connection", side_effect=create_connection)
    return plan, made, mock


def monitor(states=(), **policy):
    answers = list(states)
    return ComfyWebsocketMonitor(
        "127.0.0.1:1",
        prompt_state=lambda pid: answers.pop(0),
        policy=SocketPolicy(reconnect_delay_s=0, poll_s=0.01, final_frame_grace_s=0.05, **policy),
    )


def wait(mon, client_id="c", deadline=None, should_stop=lambda: False, seen=None):
    with mon.watch(client_id) as execution:
        return execution.wait(PID, deadline=deadline, on_progress=(seen if seen is not None else []).append,
                              should_stop=should_stop)


def test_success_ends_at_final_frame_and_reports_progress(sockets):
    plan, made, mock = sockets
    plan.append(ScriptedSocket(SUCCESS_RUN))
    seen = []
    assert wait(monitor(), client_id="abc", seen=seen) == Outcome("success")
    assert seen == [Progress(PID, "1", 1, 2)]
    assert mock.call_args.args[0] == "ws://127.0.0.1:1/ws?clientId=abc"
    assert made[0].closed


def test_skips_binary_foreign_malformed_and_broadcast_frames(sockets):
    plan, _, _ = sockets
    noise = [b"\x00\x00\x00\x01\x00\x00\x00\x02PNG", "not json", "[]", frame("executing", node=None, prompt_id="other"),
             frame("execution_error", prompt_id="other", node_id="1"), json.dumps({"type": "x", "data": 5}),
             frame("executing", node="3")]
    plan.append(ScriptedSocket(noise + SUCCESS_RUN))
    assert wait(monitor()).status == "success"


def test_fully_cached_prompt_finishes_without_node_activity(sockets):
    plan, _, _ = sockets
    plan.append(ScriptedSocket([
        frame("execution_start", prompt_id=PID), frame("execution_cached", nodes=["1", "2"], prompt_id=PID),
        frame("executed", node="2", output={}, prompt_id=PID), frame("execution_success", prompt_id=PID),
        frame("executing", node=None, prompt_id=PID),
    ]))
    assert wait(monitor()).status == "success"


def test_execution_error_frame_becomes_an_error_outcome(sockets):
    plan, _, _ = sockets
    plan.append(ScriptedSocket([
        frame("execution_error", prompt_id=PID, node_id="2", node_type="ImageToMask", exception_type="IndexError",
              exception_message="index 3", traceback=["t"], executed=["1"], current_inputs={"huge": "x"}),
        frame("executing", node=None, prompt_id=PID),
    ]))
    outcome = wait(monitor())
    assert (outcome.status, outcome.node_id, outcome.node_type, outcome.exception_type) == ("error", "2", "ImageToMask", "IndexError")
    assert "current_inputs" not in outcome.details


@pytest.mark.parametrize("after", [[CLOSED], [""], []], ids=["dropped", "close-frame", "silence"])
def test_lost_final_frame_after_terminal_frame_still_ends(sockets, after):
    plan, made, _ = sockets
    plan.append(ScriptedSocket([frame("execution_success", prompt_id=PID)] + after))
    assert wait(monitor()).status == "success"
    assert len(made) == 1


def test_reconnects_and_asks_history_when_the_prompt_finished_meanwhile(sockets):
    plan, made, _ = sockets
    plan.extend([ScriptedSocket([frame("execution_start", prompt_id=PID), CLOSED]),
                 ConnectionRefusedError(111, "refused"), ScriptedSocket([])])
    done = Outcome("error", node_id="4", message="boom")
    assert wait(monitor([PromptState("finished", done)])) == done
    assert len(made) == 2 and all(s.closed for s in made)


def test_reconnects_and_keeps_following_a_prompt_still_running(sockets):
    plan, _, _ = sockets
    plan.extend([ScriptedSocket([CLOSED]),
                 ScriptedSocket([frame("status", status={}), frame("executing", node="3")] + SUCCESS_RUN[3:])])
    assert wait(monitor([PromptState("pending")])).status == "success"


def test_prompt_forgotten_by_a_restarted_comfy_is_lost(sockets):
    plan, _, _ = sockets
    plan.extend([ScriptedSocket([CLOSED]), ScriptedSocket([])])
    with pytest.raises(PromptLost, match="restarted"):
        wait(monitor([PromptState("lost")]))


def test_gives_up_after_the_bounded_reconnect_attempts(sockets):
    plan, made, mock = sockets
    plan.extend([ScriptedSocket([CLOSED])] + [ConnectionRefusedError(111, "refused")] * 3)
    with pytest.raises(ComfyUnreachable, match="after 2 retries"):
        wait(monitor(reconnect_attempts=2))
    assert mock.call_count == 4 and made[0].closed


def test_first_connect_is_retried_too(sockets):
    plan, _, mock = sockets
    plan.extend([ConnectionRefusedError(111, "refused"), ScriptedSocket(SUCCESS_RUN)])
    assert wait(monitor()).status == "success"
    assert mock.call_count == 2


def test_deadline_raises_timed_out_and_closes_the_socket(sockets):
    plan, made, _ = sockets
    plan.append(ScriptedSocket([]))
    with pytest.raises(JobTimedOut):
        wait(monitor(), deadline=time.monotonic() + 0.05)
    assert made[0].closed


def test_stop_request_raises_interrupted(sockets):
    plan, _, _ = sockets
    plan.append(ScriptedSocket([]))
    with pytest.raises(ExecutionInterrupted, match="cancelled"):
        wait(monitor(), should_stop=lambda: True)


def test_final_frame_without_terminal_frame_asks_history(sockets):
    plan, _, _ = sockets
    plan.append(ScriptedSocket([frame("executing", node=None, prompt_id=PID)]))
    assert wait(monitor([PromptState("finished", Outcome("interrupted", node_id="5"))])).status == "interrupted"


def test_long_silence_asks_comfy_how_the_prompt_is_doing(sockets):
    plan, made, _ = sockets
    plan.append(ScriptedSocket([]))
    mon = monitor([PromptState("pending"), PromptState("finished", Outcome("success"))], silence_check_s=0.03)
    assert wait(mon).status == "success"
    assert len(made) == 1
