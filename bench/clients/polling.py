"""The `polling` client: the old design, POST /prompt then GET /history every 250 ms until outputs appear."""
from __future__ import annotations

import time
import uuid

import requests

from bench.clients.base import JobFailed, protocol_channel, serve
from bench.clients.delivery import deliver, saved_files, settings

POLL_INTERVAL_S = 0.25


def main() -> None:
    channel = protocol_channel()
    host, sink, bucket = settings()
    base_url = f"http://{host}"
    session = requests.Session()

    def run_job(job: dict) -> list[dict]:
        prompt_id = str(uuid.uuid4())
        response = session.post(f"{base_url}/prompt", json={"prompt": job["workflow"], "prompt_id": prompt_id})
        if response.status_code != 200:
            raise JobFailed(f"POST /prompt answered {response.status_code}: {response.text[:200]}")
        entry = _poll(session, base_url, prompt_id)
        images = []
        for item in saved_files(entry):
            view = session.get(f"{base_url}/view", params=item)
            view.raise_for_status()
            images.append(deliver(job["job_id"], item["filename"], view.content, sink, bucket))
        return images

    serve(run_job, channel)


def _poll(session: requests.Session, base_url: str, prompt_id: str) -> dict:
    while True:
        entry = session.get(f"{base_url}/history/{prompt_id}").json().get(prompt_id)
        if entry:
            if entry.get("status", {}).get("status_str") == "error":
                raise JobFailed(f"prompt {prompt_id} failed in ComfyUI")
            if entry.get("outputs"):
                return entry
        time.sleep(POLL_INTERVAL_S)


if __name__ == "__main__":
    main()
