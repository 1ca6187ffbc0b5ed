"""What a job sends besides the workflow: its input files and their limits."""
