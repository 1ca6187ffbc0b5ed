"""Entrypoints: the composition root and the RunPod handler."""
