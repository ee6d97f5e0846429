"""Benchmarks: `python -m bench` runs the streaming suite (see bench/__main__.py)."""
