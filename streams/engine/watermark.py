"""Event-time watermarks: how far the engine may trust that it has seen everything.

The in-process replay reads one ordered log, so one watermark suffices. A Kafka worker's partition
merges several input topics that advance independently; its watermark is the minimum over them
(as Flink does, streams/streaming/partition.py), so it never passes a time some topic has not
delivered yet.
"""

from __future__ import annotations

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
