"""Typed views of the four event kinds (TypedDicts: no per-event allocation beyond the dict)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

EventType = Literal["booking", "hit", "detainer", "release"]


class Charge(TypedDict):
    code: str
    severity: Literal["felony", "misdemeanor", "infraction"]
    category: Literal["violent", "drug", "property", "traffic", "immigration", "other"]


class BookingBody(TypedDict):
    type: Literal["booking"]
    event_id: str
    booking_id: str
    occurred_at: str
    person_id: str
    jurisdiction: str
    timezone: NotRequired[str]
    charges: list[Charge]


class HitBody(TypedDict):
    type: Literal["hit"]
    event_id: str
    booking_id: str
    occurred_at: str
    database: str
    status: str
    conviction_level: Literal["L1", "L2", "L3", "none"]


class DetainerBody(TypedDict):
    type: Literal["detainer"]
    event_id: str
    booking_id: str
    occurred_at: str
    detainer_id: str
    action: Literal["issued", "served", "lifted"]
    form: NotRequired[str]


class ReleaseBody(TypedDict):
    type: Literal["release"]
    event_id: str
    booking_id: str
    occurred_at: str
    phase: Literal["eligible", "released", "transferred_to_ice", "transferred_other"]
    reason: NotRequired[str]


@dataclass(slots=True, frozen=True)
class Event:
    """A validated event: its body as decoded, plus the event time already parsed."""

    type: EventType
    booking_id: str
    event_id: str
    at: int  # occurred_at, microseconds since the epoch
    body: dict[str, Any]
