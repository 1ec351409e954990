"""Per-booking case state and the pure ``apply(case, event)`` that folds an event into it.

A case is everything the rules need to know about one booking, and nothing else: rules are
re-evaluated from it, so the order in which events arrive does not matter (first-wins for
eligibility and custody end, earliest time wins for each detainer action).

The case is data: what the events said. What the engine keeps *about* a case (the alerts it
emitted, its timer, the rules' cached findings, when each detainer's issue was applied and whether
its fact was reported) is the engine's record, ``record.CaseRecord``.

Memory: most open cases are a booking and one or two release events, so a case keeps its
collections lean. ``hits`` and ``detainers`` are tuples (the shared empty tuple until the first
one), ``seen`` is a sorted tuple of event ids up to :data:`SEEN_TUPLE_MAX` ids (a set beyond),
and the few distinct strings and charge lists many cases hold are shared (bench/ ``memory`` row).

Content digests: beside each seen id the case keeps an 8-byte digest of what that event said
(:func:`streams.contract.events.content_digest`), so that the same id re-sent with other content
is told from an exact repeat (the dead letter ``conflicting_duplicate``). While ``seen`` is a
tuple, ``digests`` is one ``bytes`` of 8 bytes per id in the same order (41 B for a typical case
of one booking and one release event); past that, a dict id -> digest. A record stored before
digests were kept loads with the digests unknown: a repeat of such an id counts as an exact one.

Anchors: a release (any phase) must not be dated before the booking, a detainer served or lifted
neither before the booking nor before that detainer's issue. The engine dead-letters such an event
when the anchor is already known (``inconsistent_time``); when the anchor comes later, ``apply``
drops the stored fact it contradicts and falls back to the earliest consistent one. To make that
possible, a fact superseded while its anchor was still unknown is kept in ``spare`` (empty, the
shared tuple, whenever the booking arrives first); so the final case, and the alerts, do not
depend on the order in which the anchor and the contradicting event arrive.
"""

from __future__ import annotations

import bisect
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

from msgspec import UNSET

from streams.contract.events import DIGEST_SIZE, Event, content_digest
from streams.contract.structs import Charge

#: Up to this many event ids, ``Case.seen`` is a sorted tuple (a set costs 216 bytes empty).
SEEN_TUPLE_MAX = 8
Seen = tuple[str, ...] | set[str]
#: With a tuple ``seen``: 8 bytes per id, same order; with a set ``seen``: id -> digest.
Digests = bytes | dict[str, bytes]
#: A digest of all zero bytes: not known (a record stored before digests were kept).
UNKNOWN_DIGEST = bytes(DIGEST_SIZE)
#: A fact kept while its anchor is unknown: (slot, at, phase, event_id); slot is "el", "ce",
#: "s\x1f<detainer id>" (served) or "l\x1f<detainer id>" (lifted).
Spare = tuple[str, int, str | None, str | None]
#: One candidate for an earliest-wins fact: (at, phase, event_id).
Fact = tuple[int, str | None, str | None]
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


def charges_of(charges: list[Charge]) -> Charges:
    """``(severity, category)`` per charge of a booking body, as a shared tuple."""
    pairs = tuple([(c.severity, c.category) for c in charges])
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
    digests: Digests = b""  # content digest per seen id (see the module docstring)
    # Facts superseded while their anchor (booking, issue) was unknown: see the module docstring.
    spare: tuple[Spare, ...] = ()
    #: The class of a new detainer (the engine's record adds its bookkeeping to each).
    detainer_type: ClassVar[type[Detainer]] = Detainer

    def detainer(self, detainer_id: str) -> Detainer:
        for record in self.detainers:
            if record.detainer_id == detainer_id:
                return record
        record = self.detainer_type(detainer_id)
        self.detainers = (*self.detainers, record)
        return record


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


def remember(case: Case, event_id: str, digest: bytes) -> None:
    """Add ``event_id`` (not yet seen) to ``case.seen`` with its content digest."""
    seen = case.seen
    digests = case.digests
    if isinstance(seen, tuple):
        if not isinstance(digests, bytes) or len(digests) != DIGEST_SIZE * len(seen):
            digests = UNKNOWN_DIGEST * len(seen)  # an old record: its digests were not kept
        if len(seen) < SEEN_TUPLE_MAX:
            if not seen or event_id > seen[-1]:  # the usual case: ids mostly arrive in order
                case.seen = (*seen, event_id)
                case.digests = digests + digest
                return
            i = bisect.bisect_left(seen, event_id)
            case.seen = (*seen[:i], event_id, *seen[i:])
            case.digests = digests[: i * DIGEST_SIZE] + digest + digests[i * DIGEST_SIZE :]
            return
        by_id = {
            sid: digests[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE] for i, sid in enumerate(seen)
        }
        by_id[event_id] = digest
        case.seen = {*seen, event_id}
        case.digests = by_id
        return
    if not isinstance(digests, dict):  # pragma: no cover - kept in step by construction
        digests = dict.fromkeys(seen, UNKNOWN_DIGEST)
    seen.add(event_id)
    digests[event_id] = digest
    case.digests = digests


def digest_of(case: Case, event_id: str) -> bytes | None:
    """The content digest kept for a seen ``event_id``; None when not seen or not known."""
    seen = case.seen
    digests = case.digests
    if isinstance(digests, dict):
        found = digests.get(event_id)
    elif isinstance(seen, tuple) and len(digests) == DIGEST_SIZE * len(seen):
        i = bisect.bisect_left(seen, event_id)
        if i == len(seen) or seen[i] != event_id:
            return None
        found = digests[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]
    else:
        return None
    return None if found is None or found == UNKNOWN_DIGEST else found


def _digests_primitive(case: Case) -> str | None:
    """The digests as hex, in ``sorted(seen)`` order; None when not kept (an old record)."""
    digests = case.digests
    if isinstance(digests, dict):
        return "".join(digests.get(i, UNKNOWN_DIGEST).hex() for i in sorted(case.seen))
    if not digests or len(digests) != DIGEST_SIZE * len(case.seen):
        return None
    return digests.hex()  # a tuple ``seen`` is sorted already


def _digests_of(seen: Seen, text: str | None) -> Digests:
    raw = bytes.fromhex(text) if text else b""
    if isinstance(seen, tuple):
        return raw if len(raw) == DIGEST_SIZE * len(seen) else b""
    if len(raw) != DIGEST_SIZE * len(seen):
        return dict.fromkeys(seen, UNKNOWN_DIGEST)
    return {sid: raw[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE] for i, sid in enumerate(sorted(seen))}


def _earliest(current: int | None, candidate: int) -> bool:
    return current is None or candidate < current


def _keep(
    case: Case,
    slot: str,
    current: Fact | None,
    candidate: Fact,
    anchored: bool,
) -> Fact:
    """Earliest wins (ties by phase, then event id, as ``_settle`` sorts); while the anchor is
    unknown the other one is kept in ``spare``."""
    if current is None or candidate < current:
        if current is not None and not anchored:
            case.spare = (*case.spare, (slot, *current))
        return candidate
    if not anchored:
        case.spare = (*case.spare, (slot, *candidate))
    return current


def _settle(case: Case) -> int:
    """An anchor (booking, issue) is now known: drop the facts it contradicts, fall back to the
    earliest consistent one kept in ``spare``. Returns how many stored facts were dropped."""
    booked = case.booked_at
    by_slot: dict[str, list[Fact]] = {}
    for slot, at, phase, event_id in case.spare:
        by_slot.setdefault(slot, []).append((at, phase, event_id))
    spare: list[Spare] = []
    dropped = 0

    def settle(
        slot: str,
        current: Fact | None,
        floor: int | None,
        anchored: bool,
    ) -> Fact | None:
        nonlocal dropped
        candidates = by_slot.get(slot, [])
        if current is not None:
            candidates.append(current)
        valid = sorted(c for c in candidates if floor is None or c[0] >= floor)
        dropped += len(candidates) - len(valid)
        if not anchored:
            spare.extend((slot, *c) for c in valid[1:])
        return valid[0] if valid else None

    if booked is not None:
        eligible = settle(
            "el",
            None if case.eligible_at is None else (case.eligible_at, None, case.eligible_event),
            booked,
            True,
        )
        case.eligible_at, _, case.eligible_event = eligible or (None, None, None)
        end = settle(
            "ce",
            None
            if case.custody_end_at is None
            else (case.custody_end_at, case.custody_end_phase, case.custody_end_event),
            booked,
            True,
        )
        case.custody_end_at, case.custody_end_phase, case.custody_end_event = end or (
            None,
            None,
            None,
        )
    else:
        spare.extend(s for s in case.spare if s[0] in ("el", "ce"))
    for record in case.detainers:
        floors = [m for m in (booked, record.issued_at) if m is not None]
        floor = max(floors) if floors else None
        anchored = booked is not None and record.issued_at is not None
        key = record.detainer_id
        served = settle(
            f"s\x1f{key}",
            None if record.served_at is None else (record.served_at, None, None),
            floor,
            anchored,
        )
        record.served_at = None if served is None else served[0]
        lifted = settle(
            f"l\x1f{key}",
            None if record.lifted_at is None else (record.lifted_at, None, None),
            floor,
            anchored,
        )
        record.lifted_at = None if lifted is None else lifted[0]
    case.spare = tuple(spare)
    return dropped


_intern = sys.intern


def apply(case: Case, event: Event) -> int:
    """Fold one (new, validated) event into the case.

    Returns how many stored facts this event's time made inconsistent (an anchor that arrived
    after the events it contradicts: see the module docstring); the engine counts them.
    """
    body: Any = event.body  # the Struct of ``event.type`` (its fields are read below by type)
    at = event.at
    event_id = event.event_id
    remember(case, event_id, content_digest(event))
    dropped = 0
    if at > case.last_event_at:
        case.last_event_at = at
    kind = event.type
    if kind == "booking":
        if _earliest(case.booked_at, at):
            case.booked_at = at
            case.booking_event = event_id
            case.jurisdiction = body.jurisdiction
            zone = body.timezone
            case.timezone = None if zone is UNSET else zone
            case.charges = charges_of(body.charges)
            if case.spare or (
                # only a fact stored before this booking can be dated before it
                (case.detainers or case.eligible_at is not None or case.custody_end_at is not None)
                and _contradicted(case)
            ):
                dropped = _settle(case)
    elif kind == "hit":
        hit = Hit(at, _intern(body.status), _intern(body.conviction_level), event_id)
        case.hits = (*case.hits, hit)
    elif kind == "detainer":
        record = case.detainer(body.detainer_id)
        action = body.action
        if action == "issued":
            if _earliest(record.issued_at, at):
                record.issued_at, record.form, record.issued_event = (
                    at,
                    _intern(body.form),
                    event_id,
                )
                if case.spare or _contradicted(case):
                    dropped = _settle(case)
        else:
            anchored = case.booked_at is not None and record.issued_at is not None
            slot = f"{action[0]}\x1f{record.detainer_id}"
            current: Fact | None
            if action == "served":
                current = None if record.served_at is None else (record.served_at, None, None)
                record.served_at = _keep(case, slot, current, (at, None, None), anchored)[0]
            else:
                current = None if record.lifted_at is None else (record.lifted_at, None, None)
                record.lifted_at = _keep(case, slot, current, (at, None, None), anchored)[0]
    else:
        phase = body.phase
        anchored = case.booked_at is not None
        now: Fact | None
        if phase == "eligible":
            if anchored:  # the common path: no spare to keep
                first, by = case.eligible_at, case.eligible_event
                if (
                    first is None
                    or at < first
                    or (at == first and by is not None and event_id < by)
                ):
                    case.eligible_at, case.eligible_event = at, event_id
            else:
                now = (
                    None
                    if case.eligible_at is None
                    else (case.eligible_at, None, case.eligible_event)
                )
                case.eligible_at, _, case.eligible_event = _keep(
                    case, "el", now, (at, None, event_id), anchored
                )
        elif anchored:
            first = case.custody_end_at
            if (
                first is None
                or at < first
                or (
                    at == first
                    and (phase, event_id) < (case.custody_end_phase, case.custody_end_event)
                )
            ):
                case.custody_end_at, case.custody_end_phase, case.custody_end_event = (
                    at,
                    _intern(phase),
                    event_id,
                )
        else:
            now = (
                None
                if case.custody_end_at is None
                else (case.custody_end_at, case.custody_end_phase, case.custody_end_event)
            )
            case.custody_end_at, case.custody_end_phase, case.custody_end_event = _keep(
                case, "ce", now, (at, _intern(phase), event_id), anchored
            )
    return dropped


def _contradicted(case: Case) -> bool:
    """A stored fact dated before its anchor (only possible when the anchor came after it)."""
    booked = case.booked_at
    if booked is not None:
        for moment in (case.eligible_at, case.custody_end_at):
            if moment is not None and moment < booked:
                return True
    for record in case.detainers:
        floors = [m for m in (booked, record.issued_at) if m is not None]
        if not floors:
            continue
        floor = max(floors)
        for moment in (record.served_at, record.lifted_at):
            if moment is not None and moment < floor:
                return True
    return False


#: How many leading items of a stored ``"d"`` entry are the detainer's facts; the record adds
#: the engine's bookkeeping after them (``record.to_primitive``).
DETAINER_FACTS = 6


def to_primitive(case: Case) -> dict[str, Any]:
    """The case's facts as a JSON-able dict; ``fields_of`` inverts it. The stored record adds
    the engine's bookkeeping (``record.to_primitive``: the emitted alerts, and two more items in
    each ``"d"`` entry)."""
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
            ]
            for d in case.detainers
        ],
        "el": [case.eligible_at, case.eligible_event],
        "ce": [case.custody_end_at, case.custody_end_phase, case.custody_end_event],
        "l": case.last_event_at,
        "s": sorted(case.seen),
    } | _optional_primitive(case)


def _optional_primitive(case: Case) -> dict[str, Any]:
    """Keys added after the first stored records: absent when empty, so old records still load."""
    extra: dict[str, Any] = {}
    digests = _digests_primitive(case)
    if digests is not None:
        extra["sd"] = digests
    if case.spare:
        extra["sp"] = [list(s) for s in case.spare]
    return extra


def _intern_or_none(text: str | None) -> str | None:
    return None if text is None else _intern(text)


def fields_of(data: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``Case`` stored by ``to_primitive`` (any record layout so far)."""
    seen = seen_of(data["s"])
    return {
        "booking_id": data["b"],
        "jurisdiction": _intern_or_none(data["j"]),
        "timezone": _intern_or_none(data["z"]),
        "booked_at": data["bk"][0],
        "booking_event": data["bk"][1],
        "charges": _share(tuple(_share((s, c)) for s, c in data["c"])),
        "hits": tuple(
            Hit(at, _intern(status), _intern(level), e) for at, status, level, e in data["h"]
        ),
        "detainers": tuple(Detainer(*d[:DETAINER_FACTS]) for d in data["d"]),
        "eligible_at": data["el"][0],
        "eligible_event": data["el"][1],
        "custody_end_at": data["ce"][0],
        "custody_end_phase": _intern_or_none(data["ce"][1]),
        "custody_end_event": data["ce"][2],
        "last_event_at": data["l"],
        "seen": seen,
        "digests": _digests_of(seen, data.get("sd")),
        "spare": tuple((str(s[0]), int(s[1]), s[2], s[3]) for s in data.get("sp", ())),
    }
