"""Event-time watermarks: how far the engine may trust that it has seen everything.

The in-process replay reads one ordered log, so one watermark suffices. A Kafka worker reads many
partitions that advance independently; its watermark is the minimum over the partitions it owns
(as Flink does), so it never passes a time some partition has not delivered yet.
"""

from __future__ import annotations

from collections.abc import Iterable

NEVER = -(2**63)


class Watermark:
    """Greatest event time seen minus the allowed lateness; only ever moves forward."""

    __slots__ = ("lateness", "max_event_at", "value")

    def __init__(self, lateness: int) -> None:
        self.lateness = lateness
        self.max_event_at = NEVER
        self.value = NEVER

    def observe(self, at: int) -> bool:
        """Account for an event time; True when the watermark moved."""
        if at <= self.max_event_at:
            return False
        self.max_event_at = at
        candidate = at - self.lateness
        if candidate > self.value:
            self.value = candidate
            return True
        return False

    def advance_to(self, at: int) -> bool:
        """Move to ``at`` (end of a replay, ``--until``, or the wall clock in live mode)."""
        if at > self.value:
            self.value = at
            return True
        return False


class PartitionWatermarks:
    """Per-partition watermarks and their minimum over the partitions currently owned."""

    def __init__(self, lateness: int) -> None:
        self.lateness = lateness
        self._parts: dict[int, Watermark] = {}

    def assign(self, partitions: Iterable[int]) -> None:
        self._parts = {p: self._parts.get(p) or Watermark(self.lateness) for p in partitions}

    def observe(self, partition: int, at: int) -> None:
        self._parts.setdefault(partition, Watermark(self.lateness)).observe(at)

    def advance(self, partition: int, at: int) -> None:
        """A tick: the partition has delivered everything up to ``at`` (no lateness applied)."""
        self._parts.setdefault(partition, Watermark(self.lateness)).advance_to(at)

    @property
    def value(self) -> int:
        return min((w.value for w in self._parts.values()), default=NEVER)
