"""The caller client's progress bar, fed a scripted stream of the worker's progress updates: a sampler's steps move
the bar, and a job too quick for a percentage still shows what runs and for how long."""
import io
import threading

import pytest

from comfy_runpod_client.progress import ProgressBar

# A text-to-image workflow: four quick nodes, a 30-step sampler (nearly all of the time), a decode and a save
NODES = [("4", "CheckpointLoaderSimple"), ("6", "CLIPTextEncode"), ("7", "CLIPTextEncode"), ("5", "EmptyLatentImage"),
         ("3", "KSampler"), ("8", "VAEDecode"), ("9", "SaveImage")]


def update(done: int, node: str, node_class: str, step: int = 0, steps: int = 0) -> dict:
    """What the worker sends (answers.progress_payload): its percent weighs every node the same."""
    fraction = step / steps if steps else 0.0
    return {"node": node, "node_class": node_class, "nodes_done": done, "nodes_total": len(NODES), "step": step,
            "steps": steps, "percent": round(100 * (done + fraction) / len(NODES), 1), "elapsed_s": 0.1 * done}


def shown(bar: ProgressBar) -> tuple[float, str, str]:
    """The bar's fill (0..1), its description and its text after the bar."""
    inner = bar._bar
    return inner.n / inner.total, inner.desc, inner.postfix or ""


def test_the_bar_follows_the_samplers_steps_not_the_share_of_nodes():
    bar = ProgressBar(file=io.StringIO(), tick_s=60)
    for done, (node, node_class) in enumerate(NODES[:4]):
        bar(update(done, node, node_class))
    fills = []
    for step in range(1, 31):
        bar(update(4, "3", "KSampler", step, 30))
        fills.append(shown(bar)[0])
    assert fills == [step / 30 for step in range(1, 31)]  # the worker's percent went from 57 % to 71 % meanwhile
    assert shown(bar)[1:] == ("KSampler 3, node 4/7", "step 30/30")
    bar(update(5, "8", "VAEDecode"))
    assert shown(bar) == (pytest.approx(0.714), "VAEDecode 8, node 5/7", "71%")  # between samplers: nodes done
    bar.close()


def test_a_job_too_quick_for_a_percentage_shows_that_it_runs_which_node_and_the_time():
    out = io.StringIO()
    bar = ProgressBar(file=out, tick_s=0.01)
    bar.status("IN_QUEUE", 2.0)
    assert shown(bar)[1] == "in queue 2 s"
    bar.status("IN_PROGRESS", 3.0)
    bar.status("IN_PROGRESS", 3.0)
    assert shown(bar)[1] == "started after 3 s in queue"
    bar(update(0, "4", "CheckpointLoaderSimple"))
    assert shown(bar) == (0.0, "CheckpointLoaderSimple 4, node 0/7", "0%")
    # the elapsed time is redrawn while no update comes (the local API's blocking /runsync sends none)
    drawn = threading.Event()
    original = bar._bar.refresh

    def refresh(*args, **kwargs):
        drawn.set()
        return original(*args, **kwargs)

    bar._bar.refresh = refresh
    assert drawn.wait(timeout=30), "the bar was not redrawn without updates"
    bar.close()


def test_updates_that_are_not_the_workers_and_a_disabled_bar_are_harmless():
    bar = ProgressBar(enabled=False)
    bar("some other endpoint's progress text")
    bar({"percent": "bad", "steps": None})
    bar.status("IN_PROGRESS", 1.0)
    bar.close()
    assert bar.updates == 2
