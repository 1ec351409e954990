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
from typing import Any

from streams.contract.decode import Rejected
from streams.contract.events import Event, content_digest
from streams.engine import rules
from streams.engine.admission import Admission
from streams.engine.alerts import Alert, Emit, reconcile
from streams.engine.case import Case, digest_of
from streams.engine.case import apply as fold
from streams.engine.event_clock import Frontier, Held, HeldQueue
from streams.engine.record import CaseRecord
from streams.engine.share_monitor import DetainerFact, fact_of
from streams.engine.watermark import NEVER, Watermark
from streams.policy.model import Policy

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
HELD = "held"  # waiting for the event clock (``event_clock.py``); settled later via ``on_settled``
FUTURE = "future"  # a held event given up: the dead letter ``future``
REFUSED = "refused"  # a held event its case refused at release: a dead letter of that reason

FUTURE_DETAIL = (
    "occurred_at is more than max_clock_skew ahead of the event time corroborated by "
    "clock_quorum distinct bookings, and a later line of the log is dated more than that before "
    "it; replay with --until at or after it to accept it"
)

# How far apart, at most, the last events of a log may be for the end of the log to follow them
# when they are not corroborated (one or two bookings' last events, days after everyone else's,
# as in a small jail's extract); a wild time (a year off, 2199) in the last lines never is.
TAIL_STEP = 7 * 24 * 3600 * 1_000_000

#: Width of an eviction bucket (event time). Eviction stays exact (a case goes at the first
#: watermark step at or past its time, as with a heap entry); the width only bounds how many
#: entries one sweep looks at.
EVICTION_BUCKET = 3600 * 1_000_000
NEVER_DUE = 2**62

#: What the admission checks read for a booking not seen yet (read only, never stored).
_NO_CASE = Case("")

HeldEvent = Held[tuple[Event, Any]]  # the event and the caller's token (its raw bytes, line, ...)
#: A held event ended ACCEPTED, FUTURE, or REFUSED (with the admission check's Rejected).
Settled = Callable[[HeldEvent, str, Rejected | None], None]


@dataclass
class EngineStats:
    """Counts the replay summary and the worker metrics are built from."""

    accepted: Counter[str] = field(default_factory=Counter)  # by event type
    duplicates: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, state)
    evicted_without_booking: int = 0
    # The event clock: events held for corroboration, and what became of them.
    held: int = 0
    released: int = 0
    future: int = 0
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
        store: MutableMapping[str, CaseRecord] | None = None,
        watermark: Watermark | None = None,
        on_fact: Callable[[DetainerFact], None] | None = None,
        on_settled: Settled | None = None,
    ) -> None:
        self.policy = policy
        self.cases: MutableMapping[str, CaseRecord] = {} if store is None else store
        self.watermark = watermark or Watermark(policy.allowed_lateness)
        # The event clock: the corroborated frontier, and the events waiting for it.
        self.frontier = Frontier(policy.clock_quorum)
        self.held: HeldQueue[tuple[Event, Any]] = HeldQueue(policy.max_held_events)
        # (booking, event id) -> content digest of each held event: a re-send of one is a
        # duplicate, or ``conflicting_duplicate`` when its content differs.
        self._held_ids: dict[tuple[str, str], bytes] = {}
        self._skew = policy.max_clock_skew
        self._lateness = policy.allowed_lateness
        self.on_settled = on_settled
        self.newest_applied = NEVER  # the newest occurred_at applied: where a log ends
        self.stats = EngineStats()
        self._emit_out = emit
        self._timers: list[tuple[int, str]] = []
        # Closed cases waiting only for their eviction (nothing left to emit or report): booking
        # ids in buckets of EVICTION_BUCKET of event time, not one heap entry each (issue 15).
        self._evictions: dict[int, list[str]] = {}
        self._eviction_buckets: list[int] = []  # heap of the bucket numbers in use
        self._next_eviction = NEVER_DUE  # no bucket entry is due before it
        self._open_bucket = NEVER_DUE  # the bucket the watermark is in, opened into _due_now
        self._due_now: list[tuple[int, str]] = []
        self._retention = policy.closed_case_retention
        self._places = rules.Places(policy)  # the policy's per-jurisdiction lookups, cached
        self._check = Admission(policy).check
        self._accepted = self.stats.accepted  # the same Counter, one lookup less per event
        # Detainer facts for the jurisdiction monitor (``jurisdiction.py``): each issued detainer
        # once, from a timer pass (never straight from ``process``) once the watermark has reached
        # its issue time, so both engines see the same case state when they report it.
        self.on_fact = on_fact

    # -- input -------------------------------------------------------------------------------

    def process(self, event: Event, observe: bool = True, token: Any = None) -> str:
        """Apply one validated event: ``accepted``, ``duplicate`` or ``held``; or raises Rejected:
        "expired", "conflicting_duplicate" (same id, other content), or a check of
        ``admission.py`` (made on arrival, so a refused event moves no clock).

        A duplicate (a known ``event_id``, whatever its time) moves no clock. With ``observe`` the
        event feeds the event clock first and is held (returns ``held``; ``on_settled`` reports it
        later with ``token``) unless the corroborated frontier is within ``max_clock_skew`` of it.
        ``observe=False`` applies it at once and leaves the watermark alone: a Kafka partition's
        watermark is the minimum over its input topics, moved by its driver with ``advance_to``.
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
        elif event.event_id in case.seen:
            return self._repeat(event, digest_of(case, event.event_id), "was already applied")
        held_ids = self._held_ids
        if observe and held_ids:
            digest = held_ids.get((booking_id, event.event_id))
            if digest is not None:
                return self._repeat(event, digest, "is already waiting for the event clock")
        if not observe:
            self._admit(case, event)  # raises Rejected: not applied
            self._apply(case, event, mark)
            return ACCEPTED
        at = event.at
        frontier = self.frontier
        # The admission checks (``admission.py``) judge an event against its case as it is when
        # the event is applied: at once for an event the clock already corroborates (checked
        # before it counts for the clock, so a refused event moves none), at release for a held
        # one (``_release``). ``_admit``, inline: this is every event's path.
        value = frontier.value
        corroborated = value != NEVER and at <= value + self._skew
        if corroborated and self._check(_NO_CASE if case is None else case, event):
            self.stats.unlisted_jurisdiction += 1
        moved = at > value and frontier.observe(booking_id, at)
        if held_ids:
            self.held.contradict(at + self._skew)
        if not corroborated:
            if frontier.value == NEVER or at > frontier.value + self._skew:
                self._hold(event, token)
                return HELD
            try:  # corroborated by itself: the quorum's last booking
                self._admit(case, event)
            except Rejected:
                if moved:
                    self._frontier_moved()
                raise
        self._apply(case, event, mark)
        if moved:
            self._frontier_moved()
        return ACCEPTED

    def _repeat(self, event: Event, known: bytes | None, where: str) -> str:
        """A known event id again: a duplicate, or ``conflicting_duplicate`` when its content
        differs from the first one's (``known``: its digest; None for ids stored without one)."""
        if known is not None and known != content_digest(event):
            raise Rejected(
                "conflicting_duplicate",
                f"event_id {event.event_id[:128]!r} {where} with other content "
                "(type, fields or time); the first one stands",
            )
        self.stats.duplicates[event.type] += 1
        return DUPLICATE

    def holds(self, event: Event) -> bool:
        """Whether an event of this id is waiting for the clock (a re-send of it is a duplicate)."""
        return (event.booking_id, event.event_id) in self._held_ids

    def advance_to(self, at: int) -> None:
        """Move the watermark (end of log, ``--until``, a tick, the wall clock) and fire what is due."""
        if self.watermark.advance_to(at):
            self._fire_due()
            if self.watermark.value >= self._next_eviction:
                self._sweep_evictions()

    def finish(self, until: int | None = None) -> int:
        """End of a log: settle every held event, then move the watermark past the end.

        Applied, in time order: held events within ``max_clock_skew`` of the reference frontier
        (the min(k, n)-th highest booking time, so a log of one or two bookings still ends), at
        or before ``until``, or that no later line contradicts (the sparse last events of a log,
        see ``event_clock``); the rest end as ``future``. The end is ``until``, else the newest
        corroborated event, followed through that tail while each step is at most ``TAIL_STEP``
        (a week): never a wild time.
        The watermark moves to end + 1 µs, because a finding fires only once the watermark is
        past its time: everything at or before the end is settled. Returns the end (``NEVER``
        for an empty log).
        """
        reference = self.frontier.reference()
        limit = NEVER if reference == NEVER else reference + self._skew
        if until is not None:
            limit = max(limit, until)
        self._release(self.held.pop_until(limit))
        end = until if until is not None else self.newest_applied
        rest = self.held.drain()
        tail = [held for held in rest if not held.contradicted]
        self._release(tail)
        for held in rest:
            if held.contradicted:
                self._give_up(held)
        if until is None and end != NEVER:
            for held in tail:  # in time order: the end follows a plausible tail, step by step
                if held.at > end:
                    if held.at - end > TAIL_STEP:
                        break
                    end = held.at
        if end != NEVER:
            self.advance_to(end + 1)
        return end

    # -- the event clock ---------------------------------------------------------------------

    def _admit(self, case: Case | None, event: Event) -> None:
        """Raise Rejected for an event its case must not take; count an unlisted jurisdiction.

        A new booking is checked against one shared empty case (the checks only read it), not a
        case built per event and thrown away."""
        if self._check(_NO_CASE if case is None else case, event):
            self.stats.unlisted_jurisdiction += 1

    def _apply(self, case: CaseRecord | None, event: Event, mark: int) -> None:
        if case is None:
            case = CaseRecord(event.booking_id)
        at = event.at
        if at < mark:
            self.stats.late[event.type] += 1
        if at > self.newest_applied:
            self.newest_applied = at
        # Only a detainer's issue has bookkeeping beside its facts (``CaseRecord.apply``); every
        # other event folds straight into the case.
        dropped = case.apply(event, mark) if event.type == "detainer" else fold(case, event)
        case.findings = None  # the case changed: the rules' cached findings no longer hold
        if dropped:
            self.stats.inconsistent_ignored += dropped
        self._accepted[event.type] += 1
        self._reconcile(case)

    def _hold(self, event: Event, token: Any) -> None:
        self.stats.held += 1
        self._held_ids[(event.booking_id, event.event_id)] = content_digest(event)
        dropped = self.held.push(event.at, (event, token))
        if dropped is not None:
            self._give_up(dropped)

    def _give_up(self, held: HeldEvent) -> None:
        event = held.item[0]
        self._held_ids.pop((event.booking_id, event.event_id), None)
        self.stats.future += 1
        if self.on_settled is not None:
            self.on_settled(held, FUTURE, None)

    def _release(self, released: list[HeldEvent]) -> None:
        """Apply released events in order, at the current watermark (before it moves)."""
        for held in released:
            event = held.item[0]
            self._held_ids.pop((event.booking_id, event.event_id), None)
            mark = held.mark = self.watermark.value
            case = self.cases.get(event.booking_id)
            try:
                self._admit(case, event)
            except Rejected as rejected:
                if self.on_settled is not None:
                    self.on_settled(held, REFUSED, rejected)
                continue
            self._apply(case, event, mark)
            self.stats.released += 1
            if self.on_settled is not None:
                self.on_settled(held, ACCEPTED, None)

    def _frontier_moved(self) -> None:
        """The frontier rose: release what it now corroborates, then move the watermark.

        Nearly every event of a log read in time order gets here, and most have nothing to
        release, fire or evict: the held events are known from ``_held_ids`` (kept in step with
        the queue) and the watermark is moved in place (``Watermark.advance_to``), no call."""
        frontier = self.frontier.value
        if self._held_ids:
            self._release(self.held.pop_until(frontier + self._skew))
        watermark = self.watermark
        mark = frontier - self._lateness
        if mark > watermark.value:
            watermark.value = mark
            timers = self._timers
            if timers and timers[0][0] <= mark:
                self._fire_due()
            if mark >= self._next_eviction:
                self._sweep_evictions()

    # -- bookkeeping -------------------------------------------------------------------------

    def rebuild_timers(self) -> None:
        """After recovery from a table: every stored case gets a look at the next advance."""
        self._timers = []
        self._evictions, self._eviction_buckets, self._next_eviction = {}, [], NEVER_DUE
        self._open_bucket, self._due_now = NEVER_DUE, []
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

    def _reconcile(self, case: CaseRecord, timer: bool = False) -> None:
        """Bring one case up to the watermark, in four steps: emit the alerts it has reached,
        report detainer facts to the jurisdiction monitor (timer passes only), then evict the
        case or schedule its next look, and write it back to the store."""
        if not case.detainers and not case.emitted:
            # Most cases: no finding, nothing emitted, no fact to report (the steps below with
            # nothing to do), so only eviction once custody has ended.
            end = case.custody_end_at
            if end is not None:
                evict_at = max(case.last_event_at, end) + self._retention
                if evict_at <= self.watermark.value:
                    self._evict(case)
                    return
                self._evict_later(case, evict_at)
            self.cases[case.booking_id] = case  # write back (see below)
            return
        mark = self.watermark.value
        due = self._emit_reached(case, mark)
        if self.on_fact is not None and case.detainers:
            due = self._report_facts(case, mark, timer, due)
        if case.custody_end_at is not None:
            evict_at = max(case.last_event_at, case.custody_end_at) + self._retention
            if due is None:
                if evict_at <= mark:
                    self._evict(case)
                    return
                self._evict_later(case, evict_at)
                self.cases[case.booking_id] = case  # write back (see below)
                return
            due = min(due, evict_at)
        self._schedule(case, due)
        self.cases[case.booking_id] = (
            case  # write back: a no-op for a dict, a changelog entry for a table
        )

    def _emit_reached(self, case: CaseRecord, mark: int) -> int | None:
        """Emit the firing/resolved alerts the watermark has reached; the next time one is due.

        Rules are pure functions of the case, so its findings hold until an event is applied to
        it (``_apply`` clears them): a timer pass, which only moved the watermark, reuses them.
        Without a detainer there is no finding: only what was emitted can still resolve.
        """
        if not case.detainers:
            return reconcile(case, (), mark, self.policy, self._emit) if case.emitted else None
        findings = case.findings
        if findings is None:
            findings = case.findings = rules.evaluate(case, self.policy, self._places)
        if findings or case.emitted:
            return reconcile(case, findings, mark, self.policy, self._emit)
        return None

    def _report_facts(
        self, case: CaseRecord, mark: int, timer: bool, due: int | None
    ) -> int | None:
        """Each issued detainer's fact goes to the jurisdiction monitor once, from a timer pass
        after the watermark reached its issue time; until then its issue time is a due time."""
        assert self.on_fact is not None
        for detainer in case.detainers:
            issued = detainer.issued_at
            if issued is None or detainer.reported:
                continue
            if timer and issued <= mark:
                detainer.reported = True
                fact = fact_of(case, detainer, detainer.issued_mark)
                if fact is not None:
                    self.on_fact(fact)
            elif due is None or issued < due:
                due = issued  # may be <= mark: then it is reported at the next timer pass
        return due

    def _schedule(self, case: CaseRecord, due: int | None) -> None:
        """A timer entry at ``due`` unless the case already has one at or before it."""
        if due is not None and (case.timer_at is None or due < case.timer_at):
            case.timer_at = due
            heapq.heappush(self._timers, (due, case.booking_id))

    def _evict_later(self, case: CaseRecord, at: int) -> None:
        """Like ``_schedule(case, at)`` for a case due only for eviction, in a bucket.

        A case with nothing left to emit or report gets no heap entry: its reconcile at ``at``
        could only evict it. ``timer_at`` is its one due time either way; an entry whose case has
        another due time by the sweep is stale (the other entry decides)."""
        if case.timer_at is None or at < case.timer_at:
            case.timer_at = at
            number = at // EVICTION_BUCKET
            if number == self._open_bucket:  # the bucket the watermark is in: exact order
                heapq.heappush(self._due_now, (at, case.booking_id))
            else:
                bucket = self._evictions.get(number)
                if bucket is None:
                    bucket = self._evictions[number] = []
                    heapq.heappush(self._eviction_buckets, number)
                bucket.append(case.booking_id)
            if at < self._next_eviction:
                self._next_eviction = at

    def _sweep_evictions(self) -> None:
        """Reconcile (so evict) each bucketed case whose time the watermark reached; after
        ``_fire_due``, so every heap entry due is done and a due ``timer_at`` is a bucket's.

        The bucket the watermark enters is opened once into a small heap by time (``_due_now``),
        so each later step pops what is due instead of rescanning the bucket."""
        mark = self.watermark.value
        cases = self.cases
        buckets = self._eviction_buckets
        due_now = self._due_now
        while True:
            while due_now and due_now[0][0] <= mark:
                due, booking_id = heapq.heappop(due_now)
                case = cases.get(booking_id)
                if case is not None and case.timer_at == due:  # else evicted or superseded
                    case.timer_at = None
                    self._reconcile(case, timer=True)
            if due_now:
                self._next_eviction = due_now[0][0]
                return
            if not buckets or buckets[0] * EVICTION_BUCKET > mark:
                self._open_bucket = NEVER_DUE
                self._next_eviction = buckets[0] * EVICTION_BUCKET if buckets else NEVER_DUE
                return
            number = heapq.heappop(buckets)
            start, end = number * EVICTION_BUCKET, (number + 1) * EVICTION_BUCKET
            for booking_id in self._evictions.pop(number):
                entry = cases.get(booking_id)
                at = None if entry is None else entry.timer_at
                if at is not None and start <= at < end:
                    due_now.append((at, booking_id))
            heapq.heapify(due_now)
            self._open_bucket = number

    def _evict(self, case: CaseRecord) -> None:
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
