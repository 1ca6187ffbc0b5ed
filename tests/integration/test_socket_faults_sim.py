"""Silent and unregistered sockets (ComfyUI's teardown race) end the job soon after the prompt ends."""
import time

from integration.sim_job import job, run, services, wait_until

# The silence check (which would also end these jobs, by asking ComfyUI) is put out of reach: a job that is not ended
# by the mechanism under test runs into its 30 s budget and answers timed_out, without images. Outcomes, not a clock.
NEVER_S = 3600.0


def slow_chain(prefix):
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 1}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}},
    }


def freeze_when_running(sim, client_id, notice_after_s=None):
    def action():
        wait_until(lambda: sim.state.remaining() > 0 and client_id in sim.client_ids(), 10)
        time.sleep(0.3)
        assert sim.faults.freeze_socket(client_id, notice_after_s)
    return action


def test_a_frozen_socket_is_found_out_by_a_ping_and_the_job_ends_soon(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.7
    the_job = job(slow_chain("it_frozen"))
    svc = services(comfy_sim, ping_interval_s=0.5, silence_check_s=NEVER_S)
    response = run(svc, the_job, during=freeze_when_running(comfy_sim, the_job.prompt.client_id))
    assert len(response.get("images", [])) == 1, response


def test_a_reopened_socket_unregistered_by_the_old_ones_teardown_is_reopened_again(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.7
    the_job = job(slow_chain("it_deaf"))
    svc = services(comfy_sim, ping_interval_s=0.5, silence_check_s=NEVER_S)
    response = run(svc, the_job, during=freeze_when_running(comfy_sim, the_job.prompt.client_id, notice_after_s=1.2))
    assert len(response.get("images", [])) == 1, response


def test_a_late_teardown_after_a_drop_does_not_leave_the_job_deaf(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.7
    comfy_sim.faults.late_teardown_s = 1.0
    comfy_sim.faults.drop_socket_after_frames = 8
    the_job = job(slow_chain("it_late"))
    response = run(services(comfy_sim, silence_check_s=NEVER_S), the_job)
    assert len(response.get("images", [])) == 1, response
