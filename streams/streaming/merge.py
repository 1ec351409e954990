"""The watermark of a merge of several inputs, and the barriers that cross all of them.

Both Faust agents merge inputs that advance independently: the rules agent the four input
topics of one partition number (``partition``), the jurisdiction agent the source partitions
that forward facts to one facts partition (``jurisdiction_agent``). In both the merged watermark
is the minimum of how far each input has delivered (Flink's rule), so nothing fires while some
input might still hold an earlier event; and a replay barrier is complete once every input has
passed it. This is the one implementation of both. Pure Python.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from streams.engine.watermark import NEVER

K = TypeVar("K", bound=Hashable)


class InputFrontier(Generic[K]):
    """How far each input has delivered (its floor, which only rises) and which barriers each
    has passed. An input not named at construction joins when it first reports."""

    __slots__ = ("_barriers", "floors")

    def __init__(self, inputs: Iterable[K]) -> None:
        self.floors: dict[K, int] = dict.fromkeys(inputs, NEVER)
        self._barriers: dict[str, set[K]] = {}

    @property
    def watermark(self) -> int:
        """The minimum over the inputs' floors: no input will deliver anything earlier."""
        return min(self.floors.values(), default=NEVER)

    def raise_floor(self, source: K, at: int) -> None:
        """``source`` has delivered everything up to ``at`` (a lower value changes nothing)."""
        if at > self.floors.get(source, NEVER):
            self.floors[source] = at

    def barrier(self, source: K, run: str) -> bool:
        """``source`` passed ``run``'s barrier; True exactly once, when every input has."""
        seen = self._barriers.setdefault(run, set())
        seen.add(source)
        if seen >= self.floors.keys():
            del self._barriers[run]
            return True
        return False
