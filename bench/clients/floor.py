"""The `floor` client: the least this protocol needs (one websocket, one session, outputs fetched after the end)."""
from __future__ import annotations

import json
import uuid

import requests
import websocket

from bench.clients.base import JobFailed, protocol_channel, serve
from bench.clients.delivery import deliver, saved_files, settings


def main() -> None:
    channel = protocol_channel()
    host, sink, bucket = settings()
    base_url, client_id = f"http://{host}", str(uuid.uuid4())
    session = requests.Session()
    socket = websocket.create_connection(f"ws://{host}/ws?clientId={client_id}", timeout=600)

    def run_job(job: dict) -> list[dict]:
        prompt_id = str(uuid.uuid4())
        response = session.post(f"{base_url}/prompt",
                                json={"prompt": job["workflow"], "client_id": client_id, "prompt_id": prompt_id})
        if response.status_code != 200:
            raise JobFailed(f"POST /prompt answered {response.status_code}: {response.text[:200]}")
        _wait_for_final_frame(socket, prompt_id)
        entry = session.get(f"{base_url}/history/{prompt_id}").json()[prompt_id]
        images = []
        for item in saved_files(entry):
            view = session.get(f"{base_url}/view", params=item)
            view.raise_for_status()
            images.append(deliver(job["job_id"], item["filename"], view.content, sink, bucket))
        return images

    serve(run_job, channel, on_exit=socket.close)


def _wait_for_final_frame(socket: websocket.WebSocket, prompt_id: str) -> None:
    while True:
        message = socket.recv()
        if not isinstance(message, str):
            continue  # binary previews
        frame = json.loads(message)
        data = frame.get("data") or {}
        if data.get("prompt_id") != prompt_id:
            continue
        if frame.get("type") == "execution_error":
            raise JobFailed(f"execution_error in node {data.get('node_id')}: {data.get('exception_message')}")
        # PROTOCOL.md fact 1: `executing` with node null is the prompt's last frame.
        if frame.get("type") == "executing" and data.get("node") is None:
            return


if __name__ == "__main__":
    main()
