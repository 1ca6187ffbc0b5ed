"""Adapters: one technology each, implementing the domain ports."""
