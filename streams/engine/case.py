"""Per-booking case state and the pure ``apply(case, event)`` that folds an event into it.

A case is everything the rules need to know about one booking, and nothing else: rules are
re-evaluated from it, so the order in which events arrive does not matter (first-wins for
eligibility and custody end, earliest time wins for each detainer action).

Memory: most open cases are a booking and one or two release events, so a case keeps its
collections lean. ``hits`` and ``detainers`` are tuples (the shared empty tuple until the first
one), ``seen`` is a sorted tuple of event ids up to :data:`SEEN_TUPLE_MAX` ids (a set beyond),
``emitted`` is a shared read-only empty mapping until the first alert, and the few distinct
strings and charge lists many cases hold are shared (bench/ ``memory`` row).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from streams.contract.events import Event

if TYPE_CHECKING:
    from streams.engine.rules import Finding

CUSTODY_END_PHASES = frozenset({"released", "transferred_to_ice", "transferred_other"})

#: Up to this many event ids, ``Case.seen`` is a sorted tuple (a set costs 216 bytes empty).
SEEN_TUPLE_MAX = 8
#: An emitted alert's identity within its case: (rule, occurred_at, detainer id or "").
EmittedKey = tuple[str, int, str]
#: No alerts emitted yet: shared, read-only; ``record_emitted`` replaces it by a dict.
NO_EMITTED: Mapping[EmittedKey, str] = MappingProxyType({})

Seen = tuple[str, ...] | set[str]
Charges = tuple[tuple[str, str], ...]

# One shared copy of each (severity, category) pair and of each charge list seen so far: the
# schema's enums keep the pairs few, and a booking's charge list is one of a handful of
# combinations. Bounded, so that odd input cannot grow it without limit.
_SHARED_MAX = 4096
_shared_charges: dict[Any, Any] = {}


def _share(value: Any) -> Any:
    shared = _shared_charges.get(value)
    if shared is None:
        if len(_shared_charges) >= _SHARED_MAX:
            return value
        _shared_charges[value] = shared = value
    return shared


def charges_of(charges: list[dict[str, Any]]) -> Charges:
    """``(severity, category)`` per charge of a booking body, as a shared tuple."""
    pairs = tuple([(c["severity"], c["category"]) for c in charges])
    shared = _shared_charges.get(pairs)
    if shared is None:
        shared = _share(tuple([_share(pair) for pair in pairs]))
    return shared  # type: ignore[no-any-return]


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


def _no_emitted() -> Mapping[EmittedKey, str]:
    return NO_EMITTED


@dataclass(slots=True)
class Case:
    booking_id: str
    jurisdiction: str | None = None
    timezone: str | None = None  # the booking event's own zone, if it carried one
    booked_at: int | None = None
    booking_event: str | None = None
    charges: Charges = ()  # (severity, category) per charge
    hits: tuple[Hit, ...] = ()
    detainers: tuple[Detainer, ...] = ()
    eligible_at: int | None = None
    eligible_event: str | None = None
    custody_end_at: int | None = None
    custody_end_phase: str | None = None
    custody_end_event: str | None = None
    last_event_at: int = 0
    seen: Seen = ()  # event ids applied: a sorted tuple, a set past SEEN_TUPLE_MAX
    # Alerts already emitted: (rule, occurred_at, detainer id or "") -> "firing" | "resolved";
    # write through ``record_emitted`` (the default is a shared read-only empty mapping).
    emitted: Mapping[EmittedKey, str] = field(default_factory=_no_emitted)
    # Due time of this case's pending timer entry (engine bookkeeping, rebuilt on recovery).
    timer_at: int | None = None
    # The rules' findings for the case as it is now (engine cache: rules are pure functions of
    # the case, so a timer pass reuses them); ``apply`` clears it. Not state: never stored.
    findings: list[Finding] | None = field(default=None, compare=False, repr=False)

    def detainer(self, detainer_id: str) -> Detainer:
        for record in self.detainers:
            if record.detainer_id == detainer_id:
                return record
        record = Detainer(detainer_id)
        self.detainers = (*self.detainers, record)
        return record

    def record_emitted(self, key: EmittedKey, state: str) -> None:
        emitted = self.emitted
        if not isinstance(emitted, dict):
            emitted = dict(emitted)
            self.emitted = emitted
        emitted[key] = state


def add_seen(seen: Seen, event_id: str) -> Seen:
    """``seen`` with ``event_id`` added (a new sorted tuple, or the same set)."""
    if isinstance(seen, set):
        seen.add(event_id)
        return seen
    if len(seen) >= SEEN_TUPLE_MAX:
        return {*seen, event_id}
    if not seen or event_id > seen[-1]:
        return (*seen, event_id)
    return tuple(sorted((*seen, event_id)))


def seen_of(event_ids: list[str]) -> Seen:
    """The ``seen`` value holding ``event_ids`` (the representation ``add_seen`` builds)."""
    if len(event_ids) <= SEEN_TUPLE_MAX:
        return tuple(sorted(set(event_ids)))
    return set(event_ids)


def _earliest(current: int | None, candidate: int) -> bool:
    return current is None or candidate < current


_intern = sys.intern


def apply(case: Case, event: Event, mark: int | None = None) -> None:
    """Fold one (new, validated) event into the case; ``mark`` is the engine's watermark."""
    body = event.body
    at = event.at
    event_id = event.event_id
    case.findings = None
    seen = case.seen
    if type(seen) is tuple and len(seen) < SEEN_TUPLE_MAX and (not seen or event_id > seen[-1]):
        case.seen = (*seen, event_id)  # the usual case, inline: ids mostly arrive in order
    else:
        case.seen = add_seen(seen, event_id)
    if at > case.last_event_at:
        case.last_event_at = at
    kind = event.type
    if kind == "booking":
        if _earliest(case.booked_at, at):
            case.booked_at = at
            case.booking_event = event_id
            case.jurisdiction = body["jurisdiction"]
            case.timezone = body.get("timezone")
            case.charges = charges_of(body["charges"])
    elif kind == "hit":
        hit = Hit(at, _intern(body["status"]), _intern(body["conviction_level"]), event_id)
        case.hits = (*case.hits, hit)
    elif kind == "detainer":
        record = case.detainer(body["detainer_id"])
        action = body["action"]
        if action == "issued":
            if _earliest(record.issued_at, at):
                record.issued_at, record.form, record.issued_event = (
                    at,
                    _intern(body["form"]),
                    event_id,
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
                case.eligible_at, case.eligible_event = at, event_id
        elif _earliest(case.custody_end_at, at):
            case.custody_end_at, case.custody_end_phase, case.custody_end_event = (
                at,
                _intern(phase),
                event_id,
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
        # [rule, at, state] for a booking-level alert (the layout before per-detainer keys),
        # [rule, at, state, detainer] for a per-detainer one.
        "e": [
            [rule, at, state, detainer] if detainer else [rule, at, state]
            for (rule, at, detainer), state in case.emitted.items()
        ],
    }


def _intern_or_none(text: str | None) -> str | None:
    return None if text is None else _intern(text)


def _emitted_entry(entry: list[Any]) -> tuple[EmittedKey, str]:
    """One stored emitted entry. A changelog written before per-detainer keys holds
    ``[rule, at, state]`` for every alert: it loads with no detainer, and ``alerts.reconcile``
    lets the first detainer's finding with that rule and time continue it under its old id (so
    its ``resolved`` matches the ``firing`` already sent); the other detainers fire anew."""
    if len(entry) == 3:
        rule, at, state = entry
        return (rule, at, ""), state
    rule, at, state, detainer = entry
    return (rule, at, detainer), state


def from_primitive(data: dict[str, Any]) -> Case:
    emitted = dict(_emitted_entry(entry) for entry in data["e"])
    return Case(
        booking_id=data["b"],
        jurisdiction=_intern_or_none(data["j"]),
        timezone=_intern_or_none(data["z"]),
        booked_at=data["bk"][0],
        booking_event=data["bk"][1],
        charges=_share(tuple(_share((s, c)) for s, c in data["c"])),
        hits=tuple(
            Hit(at, _intern(status), _intern(level), e) for at, status, level, e in data["h"]
        ),
        detainers=tuple(Detainer(*d) for d in data["d"]),
        eligible_at=data["el"][0],
        eligible_event=data["el"][1],
        custody_end_at=data["ce"][0],
        custody_end_phase=_intern_or_none(data["ce"][1]),
        custody_end_event=data["ce"][2],
        last_event_at=data["l"],
        seen=seen_of(data["s"]),
        emitted=emitted or NO_EMITTED,
    )
