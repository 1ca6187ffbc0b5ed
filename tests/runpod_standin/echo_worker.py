"""`python -m runpod_standin.echo_worker`: the RunPod SDK's own job loop with a handler that echoes each job.

The stand-in's protocol checked against the SDK alone: `ECHO_CONCURRENCY` is what the `concurrency_modifier`
returns (the SDK then asks for several jobs in one batched take) and each job sleeps `input.sleep_s`.
"""
import asyncio
import os

import runpod


async def echo(job: dict) -> dict:
    await asyncio.sleep(float(job["input"].get("sleep_s", 0)))
    return {"echo": job["input"], "job_id": job["id"]}


def main() -> None:
    concurrency = int(os.environ.get("ECHO_CONCURRENCY", "1"))
    runpod.serverless.start({"handler": echo, "concurrency_modifier": lambda current: concurrency})


if __name__ == "__main__":
    main()
