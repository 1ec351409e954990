"""The robust event clock: event time that one or two wild timestamps cannot move.

A log's event time used to be "the newest ``occurred_at`` seen": one schema-valid typo (2011 →
2021, or 2199) early in a log then moved the watermark years ahead, turned every later event into
an ``expired`` dead letter and fired every pending deadline. Here event time must be
*corroborated*:

* the **frontier** ``T`` is the k-th highest of the per-booking newest ``occurred_at`` over
  distinct bookings (k = ``policy.clock_quorum``, default 3). So k different bookings have to
  vouch for a time before the clock reaches it, and fewer than k wild bookings cannot move it.
  Each booking's newest time only increases, so the k highest (booking, newest) pairs are enough
  to keep ``T`` exact: a booking that drops out of them can only come back with a time above the
  k-th, which is then its newest. ``T`` is undefined (``NEVER``) until k bookings were seen.
* an event more than ``policy.max_clock_skew`` ahead of ``T`` (or any event while ``T`` is
  undefined) is **held**, not applied; it still counts toward the k highest, so k honest bookings
  corroborate each other. Held events are released, in (time, arrival) order, once ``T`` has
  risen to within the skew of them. The queue is bounded (``policy.max_held_events``): beyond it
  the event furthest in the future is given up as the dead letter ``future``.

At the end of a recorded log, held events the frontier never reached are still applied when the
log's own order vouches for them: no event read after one was dated more than the skew before it
(the sparse last events of a log). One that a later line contradicts (2199, followed by
thousands of lines of 2011) ends as ``future``. Neither moves the end of the log, which comes
from the corroborated events only.

The engine (``processor.py``) owns the watermark (``T`` minus the allowed lateness) and applies
what this module releases; this module is the bookkeeping only, pure and small.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from streams.engine.watermark import NEVER

T = TypeVar("T")


class Frontier:
    """The k-th highest per-booking newest event time, kept exactly with k entries."""

    __slots__ = ("_ids", "_times", "quorum", "value")

    def __init__(self, quorum: int) -> None:
        self.quorum = max(quorum, 1)
        # The k entries, ascending by time (ties in arrival order): bookings and their newest
        # times, side by side. ``_times[0]`` is T once there are k.
        self._ids: list[str] = []
        self._times: list[int] = []
        self.value = NEVER  # T; NEVER until ``quorum`` distinct bookings were seen

    def observe(self, booking_id: str, at: int) -> bool:
        """Account for one event time of one booking; True when ``T`` rose.

        In a log read in time order nearly every event is above ``T`` and from a booking outside
        the k entries: it replaces the lowest one. Two short sorted lists do that in half the
        time of a dict and ``min`` over it (issue 15: a tenth of the engine was this step). Which
        of two equal lowest entries goes first does not change ``T`` (tests/unit/engine/
        test_event_clock.py holds it to a full recount)."""
        if at <= self.value:
            return False  # not above the k-th, so it changes none of the top k
        ids = self._ids
        times = self._times
        if len(ids) == self.quorum and at >= times[-1] and booking_id not in ids:
            # The usual step of a log in time order: a new newest time from a booking outside
            # the k entries; the lowest goes, this one joins at the top (what ``bisect_right``
            # gives: ties stay in arrival order).
            del ids[0], times[0]
            ids.append(booking_id)
            times.append(at)
        else:
            if booking_id in ids:
                i = ids.index(booking_id)
                if at <= times[i]:
                    return False
                del ids[i], times[i]
            elif len(ids) >= self.quorum:
                del ids[0], times[0]
            i = bisect_right(times, at)
            ids.insert(i, booking_id)
            times.insert(i, at)
            if len(times) < self.quorum:
                return False
        value = times[0]
        if value > self.value:
            self.value = value
            return True
        return False

    def reference(self) -> int:
        """At the end of a log: the min(k, n)-th highest newest time over the n bookings seen, so
        that a log of one or two bookings still has an end."""
        return self._times[0] if self._times else NEVER


@dataclass(slots=True)
class Held(Generic[T]):
    """One event waiting for the clock; ``mark`` is the watermark just before it was applied."""

    at: int
    seq: int
    item: T
    mark: int = field(default=NEVER)
    contradicted: bool = False  # an event read after it is dated more than the skew before it


class HeldQueue(Generic[T]):
    """Held events by (time, arrival), with the furthest in the future given up beyond a bound.

    Heaps with lazy deletion: a min-heap to release in order, a max-heap to drop the furthest, and
    a max-heap of the entries no later event has contradicted yet.
    """

    __slots__ = ("_alive", "_max", "_min", "_seq", "_unchecked", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self._min: list[tuple[int, int]] = []
        self._max: list[tuple[int, int]] = []
        self._unchecked: list[tuple[int, int]] = []
        self._alive: dict[int, Held[T]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._alive)

    def push(self, at: int, item: T) -> Held[T] | None:
        """Hold ``item``; returns the entry given up when the queue is over its bound (the one
        furthest in the future, the newest arrival among equals: possibly this one)."""
        self._seq += 1
        held = Held(at, self._seq, item)
        self._alive[held.seq] = held
        heapq.heappush(self._min, (at, held.seq))
        heapq.heappush(self._max, (-at, -held.seq))
        heapq.heappush(self._unchecked, (-at, held.seq))
        if len(self._alive) <= self.limit:
            return None
        while True:
            _, neg_seq = heapq.heappop(self._max)
            dropped = self._alive.pop(-neg_seq, None)
            if dropped is not None:
                return dropped

    def contradict(self, above: int) -> None:
        """An event was read dated ``above`` minus the skew: every entry after ``above`` is
        contradicted by the log's order."""
        heap, alive = self._unchecked, self._alive
        while heap and -heap[0][0] > above:
            _, seq = heapq.heappop(heap)
            held = alive.get(seq)
            if held is not None:
                held.contradicted = True

    def pop_until(self, limit: int) -> list[Held[T]]:
        """Every held entry with ``at <= limit``, in (time, arrival) order."""
        out: list[Held[T]] = []
        heap, alive = self._min, self._alive
        while heap and heap[0][0] <= limit:
            _, seq = heapq.heappop(heap)
            held = alive.pop(seq, None)
            if held is not None:
                out.append(held)
        if not alive:
            self._min.clear()
            self._max.clear()
            self._unchecked.clear()
        return out

    def drain(self) -> list[Held[T]]:
        """Everything still held, in (time, arrival) order."""
        out = sorted(self._alive.values(), key=lambda h: (h.at, h.seq))
        self._alive.clear()
        self._min.clear()
        self._max.clear()
        self._unchecked.clear()
        return out
