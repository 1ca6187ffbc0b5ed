"""Progress goes to the SDK's progress_update; a failure there never reaches the job."""
import runpod.serverless

from adapters.runpod_progress import send_progress


def test_sends_the_update_through_the_sdk(mocker):
    sent = mocker.patch.object(runpod.serverless, "progress_update")
    send_progress({"id": "j"}, {"percent": 12.5})
    sent.assert_called_once_with({"id": "j"}, {"percent": 12.5})


def test_a_failing_sdk_call_is_swallowed(mocker):
    mocker.patch.object(runpod.serverless, "progress_update", side_effect=RuntimeError("endpoint down"))
    send_progress({"id": "j"}, {"percent": 1})
