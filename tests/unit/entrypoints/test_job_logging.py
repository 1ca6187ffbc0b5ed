"""Every log line of a job, including those from the worker thread, carries the job id; secrets never appear."""
import asyncio
import io
import logging

from entrypoints.job_logging import JobIdFilter
from unit.entrypoints.test_runpod_handler import WORKFLOW, handler_with


def test_job_id_on_every_line_and_no_api_key():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobIdFilter())
    handler.setFormatter(logging.Formatter("job=%(job_id)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        run, _ = handler_with()
        job_input = {"workflow": WORKFLOW, "comfy_org_api_key": "key-that-must-not-leak",
                     "images": [{"name": "in.png", "image": "aGk="}]}
        asyncio.run(run({"id": "job-77", "input": job_input}))
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("job=")]
    assert any("domain.run_job" in line for line in lines)
    assert lines and all(line.startswith("job=job-77 ") for line in lines)
    assert "key-that-must-not-leak" not in stream.getvalue()
