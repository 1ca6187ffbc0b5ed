"""Progress goes to the SDK's progress_update; a failure there never reaches the job."""
import logging

import runpod.serverless

from adapters.runpod_progress import send_progress


def test_sends_the_update_through_the_sdk(mocker):
    sent = mocker.patch.object(runpod.serverless, "progress_update")
    send_progress({"id": "j"}, {"percent": 12.5})
    sent.assert_called_once_with({"id": "j"}, {"percent": 12.5})


def test_a_failing_sdk_call_is_logged_and_the_next_update_still_goes_out(mocker, caplog):
    sent = mocker.patch.object(runpod.serverless, "progress_update",
                               side_effect=[RuntimeError("endpoint down"), None])
    with caplog.at_level(logging.DEBUG, logger="adapters.runpod_progress"):
        assert send_progress({"id": "j"}, {"percent": 1}) is None
        send_progress({"id": "j"}, {"percent": 2})
    assert sent.call_args_list == [mocker.call({"id": "j"}, {"percent": 1}), mocker.call({"id": "j"}, {"percent": 2})]
    assert [r.getMessage() for r in caplog.records] == ["progress update failed: endpoint down"]
