"""Synthetic recorded logs calibrated to the published Secure Communities figures."""

from streams.generate.synthetic import GenerateStats, SyntheticLog, generate, start_instant

__all__ = ["GenerateStats", "SyntheticLog", "generate", "start_instant"]
