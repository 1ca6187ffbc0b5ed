"""Benchmark: the worker side by side with a bare websocket client and with polling."""
