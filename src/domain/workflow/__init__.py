"""The workflow a job sends: its check against /object_info, ComfyUI's refusals, links, node ids, file choices and the job's folders."""
