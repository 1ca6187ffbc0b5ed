"""A caller's client for the ComfyUI worker: submit a workflow, follow its progress, save its outputs."""
