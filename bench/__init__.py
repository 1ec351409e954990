"""Holdwatch benchmark harness: ``python -m bench --help``."""
