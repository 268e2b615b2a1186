"""Readers: see module docstring once implemented."""
