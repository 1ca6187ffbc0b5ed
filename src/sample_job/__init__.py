"""A development tool: one sample job end to end through the worker, against ComfyUI or the simulator."""
