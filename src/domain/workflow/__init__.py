"""The workflow a job sends: its forms (API, or the editor's UI export converted), its check against /object_info,
ComfyUI's refusals, links, node ids, file choices and the job's folders."""
