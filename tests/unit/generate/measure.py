"""Reading a generated log the way a consumer would: parsed events and measured figures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from streams.contract.vocabulary import CONVICTION_LEVELS, PHASES


@dataclass
class Log:
    """A generated log: its raw lines, the parsed events in file order, and helpers."""

    lines: list[bytes]
    events: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.events = [orjson.loads(line) for line in self.lines]

    def unique(self) -> Iterator[dict[str, Any]]:
        """Events in file order, each event_id at its first occurrence only."""
        seen: set[str] = set()
        for event in self.events:
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                yield event

    def by_booking(self) -> dict[str, list[dict[str, Any]]]:
        """Unique events per booking, in event-time order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for event in self.unique():
            out.setdefault(event["booking_id"], []).append(event)
        for events in out.values():
            events.sort(key=lambda e: (when(e), e["event_id"]))
        return out


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


#: Every release phase but ``eligible`` ends custody.
CUSTODY_ENDS = tuple(phase for phase in PHASES if phase != "eligible")
LOW_PRIORITY = ("L3", "none")
SKEWED = ("AZ-Maricopa", "CA-Alameda", "GA-Gwinnett", "LA-JeffersonParish")


@dataclass
class Figures:
    """What a reader of the log can measure, with the denominators named."""

    bookings: int = 0
    hits: int = 0
    ident_hits: int = 0
    citizen_hits: int = 0
    detainers: int = 0
    detainered_hits: int = 0
    detainers_without_hit: int = 0
    levels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONVICTION_LEVELS, 0))
    served_within_24h: int = 0
    lifted: int = 0
    held_past_48h: int = 0
    transferred_to_ice: int = 0
    non_priority: int = 0
    with_timezone: int = 0
    released_within_12h_without_detainer: int = 0
    without_detainer: int = 0
    lines: int = 0
    unique_events: int = 0
    out_of_order: int = 0
    out_of_order_within_5min: int = 0
    hours_late: int = 0
    booking_after_own_event: int = 0
    #: "skewed" or "rest" -> [bookings, hits, low-priority detainered hits, detainered hits]
    skewed: dict[str, list[int]] = field(default_factory=dict)


def measure(log: Log) -> Figures:
    f = Figures(lines=len(log.lines))
    latest: datetime | None = None
    booking_seen: set[str] = set()
    early: set[str] = set()
    for event in log.unique():
        f.unique_events += 1
        t = when(event)
        if latest is not None and t < latest:
            f.out_of_order += 1
            lateness = (latest - t).total_seconds()
            f.out_of_order_within_5min += lateness <= 300
            f.hours_late += lateness >= 3600 and event["type"] != "booking"
        latest = t if latest is None or t > latest else latest
        if event["type"] == "booking":
            booking_seen.add(event["booking_id"])
        elif event["booking_id"] not in booking_seen:
            early.add(event["booking_id"])
    f.booking_after_own_event = len(early)

    for events in log.by_booking().values():
        kinds = {(e["type"], e.get("phase") or e.get("action")): e for e in events}
        booking = kinds[("booking", None)]
        f.bookings += 1
        f.with_timezone += "timezone" in booking
        group = "skewed" if booking["jurisdiction"] in SKEWED else "rest"
        tally = f.skewed.setdefault(group, [0, 0, 0, 0])
        tally[0] += 1
        hit = next((e for e in events if e["type"] == "hit"), None)
        issued = kinds.get(("detainer", "issued"))
        eligible = kinds[("release", "eligible")]
        end = next(e for e in events if e.get("phase") in CUSTODY_ENDS)
        if hit is not None:
            f.hits += 1
            tally[1] += 1
            f.ident_hits += hit["database"] == "IDENT"
            f.citizen_hits += hit["status"] in ("us_citizen", "naturalized_citizen")
        if issued is None:
            f.without_detainer += 1
            held = (when(end) - when(eligible)).total_seconds()
            f.released_within_12h_without_detainer += held <= 12 * 3600
            continue
        f.detainers += 1
        if hit is None:
            f.detainers_without_hit += 1
        else:
            f.detainered_hits += 1
            f.levels[hit["conviction_level"]] += 1
            tally[3] += 1
            tally[2] += hit["conviction_level"] in LOW_PRIORITY
            traffic_only = all(c["category"] == "traffic" for c in booking["charges"])
            f.non_priority += hit["conviction_level"] == "none" and traffic_only
        served = kinds.get(("detainer", "served"))
        if served is not None and (when(served) - when(issued)).total_seconds() <= 24 * 3600:
            f.served_within_24h += 1
        f.lifted += ("detainer", "lifted") in kinds
        f.held_past_48h += (when(end) - when(eligible)).total_seconds() > 48 * 3600
        f.transferred_to_ice += end["phase"] == "transferred_to_ice"
    return f
