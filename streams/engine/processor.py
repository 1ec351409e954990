"""The engine: events and an explicit clock (the watermark) in, alerts out.

Both the in-process replay and the Faust agents drive this class; they differ only in where
events come from, where cases are stored (a dict, or a changelog-backed table through the
``store`` mapping) and who moves the watermark between events (end of log, ticks, wall clock).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from streams.contract.decode import Rejected
from streams.contract.events import Event, content_digest
from streams.engine import rules
from streams.engine.admission import Admission
from streams.engine.alerts import Alert, Emit, reconcile
from streams.engine.case import Case, apply, digest_of
from streams.engine.jurisdiction import DetainerFact, fact_of
from streams.engine.watermark import NEVER, Watermark
from streams.policy.model import Policy

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


@dataclass
class EngineStats:
    """Counts the replay summary and the worker metrics are built from."""

    accepted: Counter[str] = field(default_factory=Counter)  # by event type
    duplicates: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, state)
    evicted: int = 0
    evicted_without_booking: int = 0
    # Bookings accepted with a jurisdiction outside the policy table (they carry a time zone).
    unlisted_jurisdiction: int = 0
    # Stored facts dropped because an anchor that arrived later contradicts them (a release
    # before the booking, a lift before the issue; admission.py): the arrival-order twin of the
    # dead letter ``inconsistent_time``.
    inconsistent_ignored: int = 0


class Engine:
    """Per-booking cases, a timer heap of their next due times, and one watermark."""

    def __init__(
        self,
        policy: Policy,
        emit: Emit,
        store: MutableMapping[str, Case] | None = None,
        watermark: Watermark | None = None,
        on_fact: Callable[[DetainerFact], None] | None = None,
    ) -> None:
        self.policy = policy
        self.cases: MutableMapping[str, Case] = {} if store is None else store
        self.watermark = watermark or Watermark(policy.allowed_lateness)
        self.stats = EngineStats()
        self._emit_out = emit
        self._timers: list[tuple[int, str]] = []
        self._retention = policy.closed_case_retention
        self._places = rules.Places(policy)  # the policy's per-jurisdiction lookups, cached
        self._admission = Admission(policy)
        # Detainer facts for the jurisdiction monitor (``jurisdiction.py``): each issued detainer
        # once, from a timer pass (never straight from ``process``) once the watermark has reached
        # its issue time, so both engines see the same case state when they report it.
        self.on_fact = on_fact

    # -- input -------------------------------------------------------------------------------

    def process(self, event: Event, observe: bool = True) -> str:
        """Apply one validated event; ``accepted`` or ``duplicate``, or raises Rejected: "expired",
        "conflicting_duplicate" (same id, other content), or a check of ``admission.py``.

        ``observe=False`` leaves the watermark alone: a Kafka partition's watermark is the minimum
        over its input topics, moved by its driver with ``advance_to``, never by one event.
        """
        booking_id = event.booking_id
        case = self.cases.get(booking_id)
        mark = self.watermark.value
        if case is None:
            if mark != NEVER and event.at <= mark - self._retention:
                raise Rejected(
                    "expired",
                    "event is older than the watermark minus closed_case_retention and its "
                    "booking is no longer held in memory",
                )
            case = Case(booking_id)
        elif event.event_id in case.seen:
            known = digest_of(case, event.event_id)
            if known is not None and known != content_digest(event):
                raise Rejected(
                    "conflicting_duplicate",
                    f"event_id {event.event_id[:128]!r} was already applied with other content "
                    "(type, fields or time); the first one stands",
                )
            self.stats.duplicates[event.type] += 1
            return DUPLICATE
        unlisted = self._admission.check(case, event)  # raises Rejected: not applied
        at = event.at
        if at < mark:
            self.stats.late[event.type] += 1
        dropped = apply(case, event, mark)
        if dropped:
            self.stats.inconsistent_ignored += dropped
        if unlisted:
            self.stats.unlisted_jurisdiction += 1
        self.stats.accepted[event.type] += 1
        moved = observe and self.watermark.observe(at)
        self._reconcile(case)
        if moved:
            timers = self._timers
            if timers and timers[0][0] <= self.watermark.value:
                self._fire_due()
        return ACCEPTED

    def advance_to(self, at: int) -> None:
        """Move the watermark (end of log, ``--until``, a tick, the wall clock) and fire what is due."""
        if self.watermark.advance_to(at):
            self._fire_due()

    # -- bookkeeping -------------------------------------------------------------------------

    def rebuild_timers(self) -> None:
        """After recovery from a table: every stored case gets a look at the next advance."""
        self._timers = []
        for booking_id, case in self.cases.items():
            case.timer_at = NEVER
            self._timers.append((NEVER, booking_id))
        heapq.heapify(self._timers)

    def open_cases(self) -> int:
        return len(self.cases)

    def cases_without_booking(self) -> int:
        return sum(1 for case in self.cases.values() if case.booked_at is None)

    def _emit(self, alert: Alert) -> None:
        self.stats.alerts[(alert["rule"], alert["state"])] += 1
        self._emit_out(alert)

    def _reconcile(self, case: Case, timer: bool = False) -> None:
        mark = self.watermark.value
        due: int | None = None
        detainers = case.detainers
        if detainers:
            # Rules are pure functions of the case, so its findings hold until ``apply`` changes
            # it (and clears them): a timer pass, which only moved the watermark, reuses them.
            findings = case.findings
            if findings is None:
                findings = case.findings = rules.evaluate(case, self.policy, self._places)
            if findings or case.emitted:
                due = reconcile(case, findings, mark, self.policy, self._emit)
            if self.on_fact is not None:
                for detainer in detainers:
                    issued = detainer.issued_at
                    if issued is None or detainer.reported:
                        continue
                    if timer and issued <= mark:
                        detainer.reported = True
                        fact = fact_of(case, detainer)
                        if fact is not None:
                            self.on_fact(fact)
                    elif due is None or issued < due:
                        due = issued  # may be <= mark: then it is reported at the next timer pass
        elif case.emitted:  # no detainer, no finding: only what was emitted can still resolve
            due = reconcile(case, (), mark, self.policy, self._emit)
        if case.custody_end_at is not None:
            evict_at = max(case.last_event_at, case.custody_end_at) + self._retention
            if due is None and evict_at <= mark:
                self._evict(case)
                return
            due = evict_at if due is None else min(due, evict_at)
        if due is not None and (case.timer_at is None or due < case.timer_at):
            case.timer_at = due
            heapq.heappush(self._timers, (due, case.booking_id))
        self.cases[case.booking_id] = (
            case  # write back: a no-op for a dict, a changelog entry for a table
        )

    def _evict(self, case: Case) -> None:
        self.stats.evicted += 1
        if case.booked_at is None:
            self.stats.evicted_without_booking += 1
        self.cases.pop(case.booking_id, None)

    def _fire_due(self) -> None:
        timers = self._timers
        mark = self.watermark.value
        while timers and timers[0][0] <= mark:
            due, booking_id = heapq.heappop(timers)
            case = self.cases.get(booking_id)
            if case is None or case.timer_at != due:
                continue  # superseded by an earlier entry, or evicted
            case.timer_at = None
            self._reconcile(case, timer=True)


def collecting_engine(policy: Policy) -> tuple[Engine, list[Alert]]:
    """An engine whose alerts go to a list (tests, small tools)."""
    out: list[Alert] = []
    return Engine(policy, out.append), out


EmitFactory = Callable[[], Emit]
