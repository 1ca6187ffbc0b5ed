"""A cancel or deadline interrupts only the job's own prompt, also on a ComfyUI whose /interrupt ignores prompt ids."""
import time
import uuid
from typing import Any

import pytest
import requests

from domain.errors import JobTimedOut
from faults.workflows import stalling
from integration.sim_job import job, run, services, wait_until


def queue_foreign(sim, workflow: dict) -> str:
    prompt_id = str(uuid.uuid4())
    body: dict[str, Any] = {"prompt": workflow, "client_id": "someone-else", "prompt_id": prompt_id}
    requests.post(f"{sim.base_url}/prompt", json=body, timeout=10).raise_for_status()
    return prompt_id


def running_ids(sim) -> list:
    return [item[1] for item in requests.get(f"{sim.base_url}/queue", timeout=10).json()["queue_running"]]


@pytest.mark.parametrize("ignores_id", [False, True])
def test_a_deadline_while_pending_never_interrupts_the_prompt_that_runs(comfy_sim, ignores_id):
    comfy_sim.faults.interrupt_ignores_id = ignores_id
    other = queue_foreign(comfy_sim, stalling(f"other-{ignores_id}"))
    assert wait_until(lambda: running_ids(comfy_sim) == [other])
    ours = job(stalling(f"ours-{ignores_id}"))
    with pytest.raises(JobTimedOut):
        run(services(comfy_sim), ours, timeout_s=1.0)
    time.sleep(0.3)  # an interrupt, had one been sent, stops the stalling node at its next check
    assert running_ids(comfy_sim) == [other]
    pending = requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json()["queue_pending"]
    assert ours.prompt.id not in [item[1] for item in pending]
    requests.post(f"{comfy_sim.base_url}/interrupt", json={}, timeout=10)
