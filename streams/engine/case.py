"""Per-booking case state and the pure ``apply(case, event)`` that folds an event into it.

A case is everything the rules need to know about one booking, and nothing else: rules are
re-evaluated from it, so the order in which events arrive does not matter (first-wins for
eligibility and custody end, earliest time wins for each detainer action).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.contract.events import Event

CUSTODY_END_PHASES = frozenset({"released", "transferred_to_ice", "transferred_other"})


@dataclass(slots=True)
class Hit:
    at: int
    status: str
    level: str
    event_id: str


@dataclass(slots=True)
class Detainer:
    detainer_id: str
    issued_at: int | None = None
    form: str | None = None
    issued_event: str | None = None
    served_at: int | None = None
    lifted_at: int | None = None
    # The engine's watermark when the issuing event was applied (the stamp, in replay mode): with
    # issued_at it fixes when the jurisdiction monitor may first count the detainer.
    issued_mark: int | None = None
    reported: bool = False  # its detainer fact went to the jurisdiction monitor


@dataclass(slots=True)
class Case:
    booking_id: str
    jurisdiction: str | None = None
    timezone: str | None = None  # the booking event's own zone, if it carried one
    booked_at: int | None = None
    booking_event: str | None = None
    charges: tuple[tuple[str, str], ...] = ()  # (severity, category) per charge
    hits: list[Hit] = field(default_factory=list)
    detainers: list[Detainer] = field(default_factory=list)
    eligible_at: int | None = None
    eligible_event: str | None = None
    custody_end_at: int | None = None
    custody_end_phase: str | None = None
    custody_end_event: str | None = None
    last_event_at: int = 0
    seen: set[str] = field(default_factory=set)
    # Alerts already emitted: (rule, occurred_at) -> "firing" | "resolved".
    emitted: dict[tuple[str, int], str] = field(default_factory=dict)
    # Due time of this case's pending timer entry (engine bookkeeping, rebuilt on recovery).
    timer_at: int | None = None

    def detainer(self, detainer_id: str) -> Detainer:
        for record in self.detainers:
            if record.detainer_id == detainer_id:
                return record
        record = Detainer(detainer_id)
        self.detainers.append(record)
        return record


def _earliest(current: int | None, candidate: int) -> bool:
    return current is None or candidate < current


def apply(case: Case, event: Event, mark: int | None = None) -> None:
    """Fold one (new, validated) event into the case; ``mark`` is the engine's watermark."""
    body = event.body
    at = event.at
    case.seen.add(event.event_id)
    if at > case.last_event_at:
        case.last_event_at = at
    kind = event.type
    if kind == "booking":
        if _earliest(case.booked_at, at):
            case.booked_at = at
            case.booking_event = event.event_id
            case.jurisdiction = body["jurisdiction"]
            case.timezone = body.get("timezone")
            case.charges = tuple((c["severity"], c["category"]) for c in body["charges"])
    elif kind == "hit":
        case.hits.append(Hit(at, body["status"], body["conviction_level"], event.event_id))
    elif kind == "detainer":
        record = case.detainer(body["detainer_id"])
        action = body["action"]
        if action == "issued":
            if _earliest(record.issued_at, at):
                record.issued_at, record.form, record.issued_event = (
                    at,
                    body["form"],
                    event.event_id,
                )
                record.issued_mark = mark
        elif action == "served":
            if _earliest(record.served_at, at):
                record.served_at = at
        elif _earliest(record.lifted_at, at):
            record.lifted_at = at
    else:
        phase = body["phase"]
        if phase == "eligible":
            if _earliest(case.eligible_at, at):
                case.eligible_at, case.eligible_event = at, event.event_id
        elif _earliest(case.custody_end_at, at):
            case.custody_end_at, case.custody_end_phase, case.custody_end_event = (
                at,
                phase,
                event.event_id,
            )


def to_primitive(case: Case) -> dict[str, Any]:
    """A JSON-able dict (for a changelog-backed table); ``from_primitive`` inverts it."""
    return {
        "b": case.booking_id,
        "j": case.jurisdiction,
        "z": case.timezone,
        "bk": [case.booked_at, case.booking_event],
        "c": [list(c) for c in case.charges],
        "h": [[h.at, h.status, h.level, h.event_id] for h in case.hits],
        "d": [
            [
                d.detainer_id,
                d.issued_at,
                d.form,
                d.issued_event,
                d.served_at,
                d.lifted_at,
                d.issued_mark,
                d.reported,
            ]
            for d in case.detainers
        ],
        "el": [case.eligible_at, case.eligible_event],
        "ce": [case.custody_end_at, case.custody_end_phase, case.custody_end_event],
        "l": case.last_event_at,
        "s": sorted(case.seen),
        "e": [[rule, at, state] for (rule, at), state in case.emitted.items()],
    }


def from_primitive(data: dict[str, Any]) -> Case:
    return Case(
        booking_id=data["b"],
        jurisdiction=data["j"],
        timezone=data["z"],
        booked_at=data["bk"][0],
        booking_event=data["bk"][1],
        charges=tuple((s, c) for s, c in data["c"]),
        hits=[Hit(*h) for h in data["h"]],
        detainers=[Detainer(*d) for d in data["d"]],
        eligible_at=data["el"][0],
        eligible_event=data["el"][1],
        custody_end_at=data["ce"][0],
        custody_end_phase=data["ce"][1],
        custody_end_event=data["ce"][2],
        last_event_at=data["l"],
        seen=set(data["s"]),
        emitted={(rule, at): state for rule, at, state in data["e"]},
    )
