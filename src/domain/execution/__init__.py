"""One prompt's run in ComfyUI: its events, following them through faults, progress, the queue line and timings."""
