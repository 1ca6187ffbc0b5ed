"""Benchmark clients: each runs as its own process, reads jobs on stdin and answers JSON lines."""
