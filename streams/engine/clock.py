"""Injectable clocks. Rules never read the clock: only live mode moves the watermark with it, and
the log filter paces its outage lines with one; tests move a :class:`ManualClock` by hand."""

from __future__ import annotations

import time
from typing import Protocol

from streams.contract.timestamps import MICROS


class Clock(Protocol):
    def now(self) -> int:
        """Microseconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> int:
        return time.time_ns() // 1000


class MonotonicClock:
    """For intervals (how long since ...): never jumps when the system time is set."""

    def now(self) -> int:
        return time.monotonic_ns() // 1000


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: int = 0) -> None:
        self.value = start

    def now(self) -> int:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += round(seconds * MICROS)
