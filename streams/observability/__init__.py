"""Prometheus metrics: built once, injected into the worker and the replay tool."""
