"""Durations as written in the policy and on the command line: ``"10m"``, ``"24h"``, ``"7d"``."""

from __future__ import annotations

import re

from streams.contract.timestamps import MICROS

_UNITS = {
    "ms": MICROS // 1000,
    "s": MICROS,
    "m": 60 * MICROS,
    "h": 3600 * MICROS,
    "d": 86400 * MICROS,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration(text: str) -> int:
    """Microseconds. Raises ValueError with the accepted forms."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"bad duration {text!r}: use a number and a unit, e.g. 30s, 10m, 24h, 7d")
    return round(float(match.group(1)) * _UNITS[match.group(2)])


def format_duration(micros: int) -> str:
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if micros and micros % size == 0:
            return f"{micros // size}{unit}"
    return f"{micros / MICROS:g}s"
