"""The rolling low-priority share monitor: detainer facts and a watermark in, alerts out.

Pure Python (no Faust, no Kafka): the in-process replay feeds it from the engine's fact callback,
the Faust worker from a topic keyed by jurisdiction (``streams/streaming/jurisdiction_agent.py``).
Both must give the same alerts, so its result depends only on the facts' contents and on the
watermark, never on the order in which facts of different bookings arrive.

**Facts.** The engine reports each issued detainer once its watermark passes the issue time:
:class:`DetainerFact` (jurisdiction, ``issued_at``, the conviction level of the booking's earliest
hit at or before the issue, or ``None`` without one) and ``known_at = max(issued_at, the watermark
when the issuing event was applied)``: later than ``issued_at`` only for an event that arrived
late (older than the watermark).

**Daily evaluation, defined.** Each jurisdiction is evaluated once per *local* calendar day of its
time zone (the policy table's zone, else the policy's default zone), at local midnight ``E_D``
(zoneinfo's reading of 00:00, fold=0), once the watermark reaches ``E_D``. The evaluation of day
``D`` covers the ``window_days`` whole local days before it, ``[E_(D-window), E_D)`` (so 23- and
25-hour DST days count as one day each), and counts a fact iff ``issued_at`` lies in that range
**and** ``known_at < E_D``: a late fact is never counted in an evaluation that was (or, in the
other engine, could have been) made before it was known; it counts from the next local midnight
on, for as long as its issue day is still in the window. ``share = low / count`` where ``count``
is the facts with a known level and ``low`` those with a level in ``low_priority_levels``
(detainers without a hit are reported in ``details.without_hit``, not in the share).

**Alerts.** ``jurisdiction_low_priority_share`` (warning) fires at the first evaluation where
``count >= min_detainers`` and ``share > baseline + margin``: ``occurred_at = E_D``,
``booking_id`` empty, the jurisdiction set, ``alert_id(rule, "", E_D, jurisdiction)``; details
hold the share, the counts and the window of that evaluation (nothing later). It is resolved, same
id, at the first later evaluation where the condition no longer holds (details add
``resolved_at``, ``resolved_share``, ``resolved_count``). A count only changes on the local days
where a fact enters or leaves the window, so only those days need evaluating; the result is the
same as evaluating every day.

Facts are deduplicated by ``fact_id`` (booking id + detainer id) while they can still count, so an
at-least-once redelivery changes nothing.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from streams.contract.timestamps import isoformat, to_datetime
from streams.contract.vocabulary import AlertState
from streams.engine import calendar
from streams.engine.alerts import Alert, alert_record
from streams.engine.case import Case, Detainer
from streams.engine.queries import earliest_hit
from streams.engine.rules.jurisdiction_share import LOW_PRIORITY_SHARE
from streams.engine.watermark import NEVER
from streams.policy.model import Policy

RULE = LOW_PRIORITY_SHARE.name

Evaluated = Callable[[str, int, float | None, int], None]  # jurisdiction, E_D, share, count


@dataclass(frozen=True, slots=True)
class DetainerFact:
    fact_id: str
    jurisdiction: str
    issued_at: int
    known_at: int
    level: str | None

    def to_primitive(self) -> list[Any]:
        return [self.fact_id, self.jurisdiction, self.issued_at, self.known_at, self.level]

    @classmethod
    def from_primitive(cls, data: list[Any]) -> DetainerFact:
        return cls(str(data[0]), str(data[1]), int(data[2]), int(data[3]), data[4])


def fact_of(case: Case, detainer: Detainer, issued_mark: int | None) -> DetainerFact | None:
    """The detainer's fact, from what the case knows; None when its jurisdiction is unknown.

    ``issued_mark`` is the engine's watermark when the issuing event was applied (kept on the
    engine's ``record.DetainerRecord``; None when not known): the fact is known at the later of it and the issue.
    The jurisdiction comes from a booking event at or before the issue time only, and the level
    from hits at or before it: facts known by then, so the fact does not depend on the arrival
    order of events within the allowed lateness.
    """
    issued = detainer.issued_at
    assert issued is not None
    if case.booked_at is None or case.booked_at > issued or not case.jurisdiction:
        return None
    hit = earliest_hit(case, issued)
    level = hit.level if hit is not None else None
    known = issued if issued_mark is None or issued_mark < issued else issued_mark
    return DetainerFact(
        f"{case.booking_id}\x1f{detainer.detainer_id}", case.jurisdiction, issued, known, level
    )


@dataclass(slots=True)
class JurisdictionState:
    zone: str
    evaluated: int  # the last local day (date ordinal) whose midnight the watermark has reached
    count: int = 0  # in the window of day ``evaluated``: facts with a known level
    low: int = 0  # ... of which low priority
    without_hit: int = 0
    deltas: dict[int, list[int]] = field(
        default_factory=dict
    )  # day -> [d count, d low, d without_hit]
    days: list[int] = field(default_factory=list)  # heap of the keys of ``deltas``
    firing: int | None = None  # occurred_at of the firing alert
    firing_details: dict[str, Any] | None = None
    seen: dict[str, int] = field(default_factory=dict)  # fact_id -> last day it counts

    def idle(self) -> bool:
        return not self.deltas and self.firing is None and self.count == 0 and self.without_hit == 0

    def to_primitive(self) -> dict[str, Any]:
        return {
            "z": self.zone,
            "e": self.evaluated,
            "c": [self.count, self.low, self.without_hit],
            "d": [[day, *delta] for day, delta in sorted(self.deltas.items())],
            "f": self.firing,
            "fd": self.firing_details,
            "s": self.seen,
        }

    @classmethod
    def from_primitive(cls, data: dict[str, Any]) -> JurisdictionState:
        deltas = {int(d[0]): [int(x) for x in d[1:]] for d in data["d"]}
        days = sorted(deltas)
        count, low, without_hit = (int(x) for x in data["c"])
        return cls(
            data["z"],
            int(data["e"]),
            count,
            low,
            without_hit,
            deltas=deltas,
            days=days,
            firing=data["f"],
            firing_details=data["fd"],
            seen={k: int(v) for k, v in data["s"].items()},
        )


def local_day(at: int, zone_name: str) -> int:
    return to_datetime(at, calendar.zone(zone_name)).date().toordinal()


@functools.lru_cache(maxsize=8192)
def midnight(day: int, zone_name: str) -> int:
    return calendar.local_midnight(date.fromordinal(day), calendar.zone(zone_name))


class ShareMonitor:
    """Per-jurisdiction windows and one watermark; ``add`` facts, ``advance_to`` returns alerts."""

    def __init__(self, policy: Policy, on_evaluate: Evaluated | None = None) -> None:
        self.policy = policy
        self.settings = policy.monitor
        self.on_evaluate = on_evaluate
        self.states: dict[str, JurisdictionState] = {}
        self.watermark = NEVER
        self.stats: Counter[str] = (
            Counter()
        )  # facts, duplicates, late, too_late, no_jurisdiction, disabled
        self.next_due = (
            NEVER  # earliest midnight some state must be evaluated at (NEVER: recompute)
        )
        self.dirty: set[str] = (
            set()
        )  # jurisdictions whose state changed (for a changelog-backed store)

    # -- input -------------------------------------------------------------------------------

    def accept(self, fact: DetainerFact) -> None:
        """``add`` as an engine fact sink."""
        self.add(fact)

    def add(self, fact: DetainerFact) -> bool:
        """Account for one fact; True when it changed the state (not a duplicate, not ignored)."""
        juris = fact.jurisdiction
        if not juris:
            self.stats["no_jurisdiction"] += 1
            return False
        if not self.policy.rule_enabled(RULE, juris):
            self.stats["disabled"] += 1
            return False
        state = self.states.get(juris)
        if state is None:
            zone = self.policy.timezone_for(juris)
            done = (
                local_day(self.watermark, zone) if self.watermark != NEVER else 0
            )  # day 0: nothing evaluated
            state = JurisdictionState(zone, done)
        zone = state.zone
        if fact.fact_id in state.seen:
            self.stats["duplicates"] += 1
            return False
        first = local_day(fact.known_at, zone) + 1  # the first midnight after it was known
        last = (
            local_day(fact.issued_at, zone) + self.settings.window_days
        )  # its issue day's last window
        if first <= state.evaluated:  # cannot happen when driven as documented; keep it sane
            self.stats["late"] += 1
            first = state.evaluated + 1
        if first > last:
            self.stats["too_late"] += 1
            return False
        self.stats["facts"] += 1
        self.states[juris] = state
        self.dirty.add(juris)
        state.seen[fact.fact_id] = last
        if fact.level is None:
            delta = (0, 0, 1)
        else:
            delta = (1, 1 if fact.level in self.settings.low_priority_levels else 0, 0)
        self._shift(state, first, delta, +1)
        self._shift(state, last + 1, delta, -1)
        due = midnight(first, zone)
        if self.next_due != NEVER and due < self.next_due:
            self.next_due = due
        return True

    @staticmethod
    def _shift(state: JurisdictionState, day: int, delta: tuple[int, int, int], sign: int) -> None:
        entry = state.deltas.get(day)
        if entry is None:
            entry = state.deltas[day] = [0, 0, 0]
            heapq.heappush(state.days, day)
        for i in range(3):
            entry[i] += sign * delta[i]

    def advance_to(self, watermark: int) -> list[Alert]:
        """Evaluate every local midnight the watermark has now reached; the alerts, in order."""
        if watermark <= self.watermark:
            return []
        self.watermark = watermark
        if self.next_due != NEVER and watermark < self.next_due:
            return []
        alerts: list[Alert] = []
        next_due: int | None = None
        for juris in sorted(self.states):
            state = self.states[juris]
            self._evaluate(juris, state, watermark, alerts)
            self.dirty.add(juris)
            if state.idle():
                del self.states[juris]
            elif state.days:
                due = midnight(state.days[0], state.zone)
                next_due = due if next_due is None else min(next_due, due)
        self.next_due = next_due if next_due is not None else 2**62
        alerts.sort(key=lambda a: (a["_at"], a["jurisdiction"]))
        for alert in alerts:
            del alert["_at"]
        return alerts

    # -- evaluation --------------------------------------------------------------------------

    def _evaluate(
        self, juris: str, state: JurisdictionState, watermark: int, out: list[Alert]
    ) -> None:
        zone = state.zone
        today = local_day(watermark, zone)  # midnight(today) <= watermark < midnight(today + 1)
        settings = self.settings
        while state.days and state.days[0] <= today:
            day = heapq.heappop(state.days)
            dc, dl, dn = state.deltas.pop(day)
            state.count += dc
            state.low += dl
            state.without_hit += dn
            if dc == 0 and dl == 0 and dn == 0:
                continue
            at = midnight(day, zone)
            share = state.low / state.count if state.count else None
            if self.on_evaluate is not None:
                self.on_evaluate(juris, at, share, state.count)
            breached = (
                share is not None
                and state.count >= settings.min_detainers
                and share > settings.threshold
            )
            if breached and state.firing is None and share is not None:
                details = self._details(state, day, share)
                state.firing, state.firing_details = at, details
                out.append(self._alert(juris, "firing", at, details))
            elif not breached and state.firing is not None:
                assert state.firing_details is not None
                details = dict(state.firing_details)
                details["resolved_at"] = isoformat(at, calendar.zone(zone))
                details["resolved_share"] = None if share is None else round(share, 4)
                details["resolved_count"] = state.count
                out.append(self._alert(juris, "resolved", state.firing, details, at))
                state.firing = state.firing_details = None
        if today > state.evaluated:
            state.evaluated = today
            # Facts whose last window ended: only a new day can end one (a fact added since the
            # last sweep has its last day after the day evaluated then).
            expired = [fid for fid, last in state.seen.items() if last < today]
            for fid in expired:
                del state.seen[fid]

    def _details(self, state: JurisdictionState, day: int, share: float) -> dict[str, Any]:
        settings = self.settings
        where = calendar.zone(state.zone)
        return {
            "share": round(share, 4),
            "count": state.count,
            "low_priority": state.low,
            "without_hit": state.without_hit,
            "low_priority_levels": sorted(settings.low_priority_levels),
            "window_days": settings.window_days,
            "window_start": isoformat(midnight(day - settings.window_days, state.zone), where),
            "window_end": isoformat(midnight(day, state.zone), where),
            "baseline": settings.baseline,
            "margin": settings.margin,
            "threshold": round(settings.threshold, 4),
            "min_detainers": settings.min_detainers,
            "timezone": state.zone,
        }

    def _alert(
        self,
        juris: str,
        state: AlertState,
        at: int,
        details: dict[str, Any],
        order: int | None = None,
    ) -> Alert:
        alert = alert_record(
            self.policy, RULE, state, at, self.states_zone(juris), details, jurisdiction=juris
        )
        alert["_at"] = at if order is None else order  # sorting key, removed before emitting
        return alert

    def states_zone(self, juris: str) -> str:
        state = self.states.get(juris)
        return state.zone if state is not None else self.policy.timezone_for(juris)

    # -- persistence (the Faust worker's table) ------------------------------------------------

    def restore(self, juris: str, data: dict[str, Any]) -> None:
        self.states[juris] = JurisdictionState.from_primitive(data)
        self.next_due = NEVER

    def snapshot(self, juris: str) -> dict[str, Any] | None:
        state = self.states.get(juris)
        return None if state is None else state.to_primitive()
