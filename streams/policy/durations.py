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
#: Also the ``duration`` pattern of schemas/policy.schema.json (a test keeps the two equal).
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
#: No setting of Holdwatch means anything beyond ten years of event time; a longer value is a typo
#: (``999999d``) that would otherwise overflow date arithmetic deep inside a run.
MAX_DAYS = 3650
MAX_DURATION = MAX_DAYS * _UNITS["d"]


def parse_duration(text: str) -> int:
    """Microseconds, at most :data:`MAX_DURATION`. Raises ValueError with the accepted forms."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"bad duration {text!r}: use a number and a unit, e.g. 30s, 10m, 24h, 7d")
    micros = float(match.group(1)) * _UNITS[match.group(2)]  # inf for a 400-digit number
    if micros > MAX_DURATION:
        raise ValueError(f"duration {text!r} is too long: at most {MAX_DAYS}d (ten years)")
    return round(micros)
