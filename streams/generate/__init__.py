"""Synthetic recorded logs calibrated to the published Secure Communities figures."""
