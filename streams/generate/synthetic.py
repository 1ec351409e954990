"""A synthetic recorded event log, calibrated to the published Secure Communities figures.

Bookings arrive as a Poisson process. Each booking's whole story (hit, detainer, service, lift,
release eligibility, end of custody) is drawn when it arrives; its later events wait in a heap
keyed by event time and are written once the arrival clock passes them. A second stage adds the
noise of a real recorded log (slightly out-of-order and hours-late events, exact duplicates,
booking events that arrive after the booking's next event) with a small reorder heap. Memory is
bounded by the bookings still in custody, never by the number of bookings.

Everything is drawn from ``random.Random`` instances seeded from the seed: the same arguments
give the same bytes.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import orjson

from streams.contract.vocabulary import ConvictionLevel
from streams.generate import calibration as cal

_K = TypeVar("_K")

_HOUR = 3600
_DAY = 86400
_48H = 48 * _HOUR

#: A clean event: (event time in epoch seconds, tie-break, JSON line, next event time of the
#: booking for a booking event else 0).
_Clean = tuple[int, int, bytes, int]

_EPOCH = datetime(1970, 1, 1)


def _utcoffset(t: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(t, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


class _ZoneClock:
    """UTC offset of one time zone at an instant, from its transitions found once per period.

    A period (about 388 days) is scanned day by day and each change located to the second;
    only the last few periods are kept, so memory does not grow with the log's span.
    """

    _PERIOD = 1 << 25  # seconds
    _KEEP = 4

    __slots__ = ("_periods", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._periods: dict[int, tuple[list[int], list[int]]] = {}

    def offset(self, t: int) -> int:
        period = t // self._PERIOD
        found = self._periods.get(period)
        if found is None:
            found = self._scan(period)
        starts, offsets = found
        return offsets[bisect(starts, t) - 1]

    def _scan(self, period: int) -> tuple[list[int], list[int]]:
        begin = period * self._PERIOD
        end = begin + self._PERIOD
        starts, offsets = [begin], [_utcoffset(begin, self.zone)]
        day = begin
        while day < end:
            following = min(day + _DAY, end)
            if _utcoffset(following, self.zone) != offsets[-1]:
                low, high = day, following  # offset(low) is the old one, offset(high) the new
                while high - low > 1:
                    middle = (low + high) // 2
                    if _utcoffset(middle, self.zone) == offsets[-1]:
                        low = middle
                    else:
                        high = middle
                starts.append(high)
                offsets.append(_utcoffset(high, self.zone))
            day = following
        if len(self._periods) >= self._KEEP:
            del self._periods[min(self._periods)]
        self._periods[period] = (starts, offsets)
        return starts, offsets


_SUFFIXES: dict[int, str] = {}


def _offset_suffix(offset: int) -> str:
    suffix = _SUFFIXES.get(offset)
    if suffix is None:
        sign = "-" if offset < 0 else "+"
        hours, minutes = divmod(abs(offset) // 60, 60)
        suffix = _SUFFIXES[offset] = f"{sign}{hours:02d}:{minutes:02d}"
    return suffix


class _Choice(Generic[_K]):
    """A categorical draw from fixed weights with one ``random()`` and a bisection."""

    __slots__ = ("_cumulative", "_keys", "_total")

    def __init__(self, weights: Mapping[_K, float] | Sequence[tuple[_K, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        self._keys = [key for key, _ in pairs]
        self._cumulative: list[float] = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            self._cumulative.append(total)
        self._total = total

    def pick(self, rng: random.Random) -> _K:
        return self._keys[bisect(self._cumulative, rng.random() * self._total)]


def _lognormal(rng: random.Random, median_sigma: tuple[float, float]) -> float:
    median, sigma = median_sigma
    return median * math.exp(rng.gauss(0.0, sigma))


@dataclass(frozen=True, slots=True)
class _Jurisdiction:
    name: str
    timezone: str
    zone: ZoneInfo
    clock: _ZoneClock
    hit_rate: float
    levels: _Choice[ConvictionLevel]
    form_2017_from: int  # epoch seconds of the I-247A effective date, local midnight


def _jurisdictions() -> list[_Jurisdiction]:
    out = []
    for name, (tz, _, _) in cal.JURISDICTIONS.items():
        zone = ZoneInfo(tz)
        effective = datetime.combine(cal.FORM_2017_EFFECTIVE, datetime.min.time(), zone)
        out.append(
            _Jurisdiction(
                name=name,
                timezone=tz,
                zone=zone,
                clock=_ZoneClock(zone),
                hit_rate=cal.JURISDICTION_HIT_RATE[name],
                levels=_Choice(cal.JURISDICTION_LEVEL_MIX[name]),
                form_2017_from=int(effective.timestamp()),
            )
        )
    return out


@dataclass(slots=True)
class GenerateStats:
    """Counts of what a generator has produced so far."""

    bookings: int = 0
    events: int = 0  # lines written, duplicates included
    hits: int = 0
    detainers: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    late: int = 0
    early_events: int = 0  # bookings whose booking event was written after their next event


def start_instant(start: date | datetime) -> datetime:
    """The instant a log starts: an aware datetime as is, a naive one as UTC, a date at its
    local midnight in the westernmost jurisdiction (so that no event falls before that date)."""
    if isinstance(start, datetime):
        return start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    midnights = (datetime.combine(start, time(), ZoneInfo(tz)) for tz, _, _ in _TABLE)
    return max(midnights, key=lambda dt: dt.timestamp()).astimezone(UTC)


_TABLE = tuple(cal.JURISDICTIONS.values())


class SyntheticLog:
    """Iterable of the lines (``bytes`` ending in a newline) of one synthetic recorded log.

    ``stats`` is updated while iterating. Iterating twice gives the same lines.
    """

    def __init__(
        self,
        bookings: int,
        seed: int,
        start: date | datetime = cal.DEFAULT_START,
        per_day: float = cal.DEFAULT_PER_DAY,
    ) -> None:
        if bookings < 0:
            raise ValueError("bookings must be >= 0")
        if not per_day > 0 or math.isinf(per_day):
            raise ValueError("per_day must be a positive number")
        self.bookings = bookings
        self.seed = seed
        self.start = start_instant(start)
        self.per_day = per_day
        self.stats = GenerateStats()

    def __iter__(self) -> Iterator[bytes]:
        self.stats = GenerateStats()
        return _Run(self).lines()


def generate(
    bookings: int,
    seed: int,
    start: date | datetime = cal.DEFAULT_START,
    per_day: float = cal.DEFAULT_PER_DAY,
) -> Iterator[bytes]:
    """The lines of a synthetic log of ``bookings`` bookings (each ``bytes`` ending in ``\\n``)."""
    return iter(SyntheticLog(bookings, seed, start, per_day))


def _charges_table(
    rows: Sequence[tuple[str, str, str, float]],
) -> _Choice[dict[str, str]]:
    return _Choice([({"code": c, "severity": s, "category": k}, w) for c, s, k, w in rows])


class _Run:
    """One pass of generation (state that a fresh iteration must not share)."""

    def __init__(self, log: SyntheticLog) -> None:
        self.log = log
        self.stats = log.stats
        self.seed = log.seed
        self.rng = random.Random(log.seed)
        self.noise_rng = random.Random(f"holdwatch-generate-noise:{log.seed}")
        self.jurisdictions = _Choice([(j, cal.JURISDICTIONS[j.name][1]) for j in _jurisdictions()])
        self.charge_count = _Choice([(i + 1, w) for i, w in enumerate(cal.CHARGE_COUNT_WEIGHTS)])
        self.charges = _charges_table(cal.CHARGES)
        self.minor_traffic = _charges_table(cal.MINOR_TRAFFIC_CHARGES)
        self.databases = _Choice(cal.HIT_DATABASE_WEIGHTS)
        self.statuses = _Choice(cal.HIT_STATUS_WEIGHTS)
        self.reasons = _Choice(cal.ELIGIBLE_REASONS)

    # -- timestamps ---------------------------------------------------------------------------

    def _timestamp(self, t: int, zone: _ZoneClock) -> str:
        """RFC 3339 with the zone's UTC offset at ``t``, e.g. ``2011-10-04T10:00:00-04:00``."""
        offset = zone.offset(t)
        return (_EPOCH + timedelta(seconds=t + offset)).isoformat() + _offset_suffix(offset)

    # -- one booking ---------------------------------------------------------------------------

    def _booking(self, n: int, t0: int) -> list[tuple[int, bytes]]:
        """All events of booking ``n`` arriving at ``t0``, in event-time order."""
        rng = self.rng
        stats = self.stats
        juris = self.jurisdictions.pick(rng)
        booking_id = f"bk-{self.seed}-{n}"
        if rng.random() < cal.TRAFFIC_ONLY_SHARE:
            charges = [self.minor_traffic.pick(rng) for _ in range(1 + (rng.random() < 0.3))]
        else:
            charges = [self.charges.pick(rng) for _ in range(self.charge_count.pick(rng))]
        booking: dict[str, Any] = {
            "type": "booking",
            "person_id": f"p-{self.seed}-{n}",
            "jurisdiction": juris.name,
        }
        if rng.random() < cal.TIMEZONE_PRESENT_SHARE:
            booking["timezone"] = juris.timezone
        booking["charges"] = charges
        events: list[tuple[int, dict[str, Any]]] = [(t0, booking)]

        has_detainer = False
        t_issue = 0
        if rng.random() < juris.hit_rate:
            t_hit = t0 + 60 + int(_lognormal(rng, cal.HIT_DELAY))
            hit = {
                "type": "hit",
                "database": self.databases.pick(rng),
                "status": self.statuses.pick(rng),
                "conviction_level": juris.levels.pick(rng),
            }
            events.append((t_hit, hit))
            stats.hits += 1
            if rng.random() < cal.DETAINER_RATE:
                has_detainer = True
                t_issue = t_hit + 60 + int(_lognormal(rng, cal.ISSUE_DELAY))
        elif rng.random() < cal.DETAINER_WITHOUT_HIT_RATE:
            has_detainer = True
            t_issue = t0 + 600 + int(_lognormal(rng, cal.NO_HIT_ISSUE_DELAY))

        stay = _lognormal(rng, cal.HOLD_STAY if has_detainer else cal.STAY)
        t_eligible = t0 + max(600, min(int(stay), cal.MAX_STAY_DAYS * _DAY))
        reason = self.reasons.pick(rng)
        if has_detainer:
            stats.detainers += 1
            t_eligible = max(t_eligible, t_issue + _HOUR + int(rng.random() * 11 * _HOUR))
            t_end = self._detainer(n, juris, t_issue, t_eligible, events)
        else:
            t_end = self._release(t_eligible, events)
        events.append((t_eligible, {"type": "release", "phase": "eligible", "reason": reason}))
        assert t_end > t_eligible

        events.sort(key=lambda e: e[0])
        out = []
        clock = juris.clock
        dumps = orjson.dumps
        for k, (t, body) in enumerate(events):
            head = {
                "type": body.pop("type"),
                "event_id": f"{booking_id}-{k}",
                "booking_id": booking_id,
                "occurred_at": self._timestamp(t, clock),
            }
            head.update(body)
            out.append((t, dumps(head) + b"\n"))
        return out

    def _release(self, t_from: int, events: list[tuple[int, dict[str, Any]]]) -> int:
        """Custody ends without a detainer: released soon after ``t_from``, or transferred."""
        rng = self.rng
        if rng.random() < cal.TRANSFERRED_OTHER_SHARE:
            t_end = t_from + 60 + int(_lognormal(rng, cal.OTHER_TRANSFER_DELAY))
            events.append((t_end, {"type": "release", "phase": "transferred_other"}))
        else:
            t_end = t_from + 60 + int(_lognormal(rng, cal.RELEASE_DELAY))
            events.append((t_end, {"type": "release", "phase": "released"}))
        return t_end

    def _detainer(
        self,
        n: int,
        juris: _Jurisdiction,
        t_issue: int,
        t_eligible: int,
        events: list[tuple[int, dict[str, Any]]],
    ) -> int:
        """Detainer events and the end of custody; returns the time custody ends."""
        rng = self.rng
        detainer_id = f"dt-{self.seed}-{n}"
        form = cal.FORM_2017 if t_issue >= juris.form_2017_from else cal.FORM_2011
        events.append(
            (
                t_issue,
                {"type": "detainer", "detainer_id": detainer_id, "action": "issued", "form": form},
            )
        )
        t_lift = 0
        if rng.random() < cal.LIFTED_SHARE:
            if rng.random() < cal.LIFTED_BEFORE_ELIGIBLE:
                span = t_eligible - t_issue
                t_lift = t_issue + int(span * (0.1 + 0.8 * rng.random()))
                t_end = self._release(t_eligible, events)
            else:
                t_lift = t_eligible + _HOUR // 2 + int(rng.random() * 35.5 * _HOUR)
                t_end = t_lift + 60 + int(_lognormal(rng, cal.RELEASE_DELAY))
                events.append(
                    (t_end, {"type": "release", "phase": "released", "reason": "detainer_lifted"})
                )
            events.append(
                (t_lift, {"type": "detainer", "detainer_id": detainer_id, "action": "lifted"})
            )
        elif rng.random() < cal.HELD_PAST_48H_SHARE:
            extra = min(rng.expovariate(1.0 / cal.PAST_48H_EXTRA_MEAN), cal.PAST_48H_EXTRA_MAX)
            t_end = t_eligible + _48H + 60 + int(extra)
            phase = "transferred_to_ice" if rng.random() < cal.PAST_48H_TRANSFERRED else "released"
            events.append((t_end, {"type": "release", "phase": phase}))
        else:
            if rng.random() < cal.TRANSFERRED_WITHIN_48H:
                delay, phase = _lognormal(rng, cal.ICE_PICKUP_DELAY), "transferred_to_ice"
            else:
                delay, phase = _lognormal(rng, cal.JAIL_RELEASE_ON_HOLD_DELAY), "released"
            t_end = t_eligible + 60 + int(min(delay, _48H - 30 * 60))
            events.append((t_end, {"type": "release", "phase": phase}))

        r = rng.random()
        if r < cal.SERVED_WITHIN_24H:
            t_served = t_issue + 60 + int(min(_lognormal(rng, cal.SERVE_DELAY), 23.5 * _HOUR))
        elif rng.random() < cal.SERVED_LATE_OF_REST:
            t_served = t_issue + 24 * _HOUR + 60 + int(_lognormal(rng, cal.LATE_SERVE_DELAY))
        else:
            t_served = 0
        if t_served and t_served < t_end and (not t_lift or t_served < t_lift):
            events.append(
                (t_served, {"type": "detainer", "detainer_id": detainer_id, "action": "served"})
            )
        return t_end

    # -- stage 1: clean events in event-time order ----------------------------------------------

    def _clean(self) -> Iterator[_Clean]:
        log = self.log
        rng = self.rng
        rate = log.per_day / _DAY  # arrivals per second
        clock = log.start.timestamp()
        heap: list[_Clean] = []
        seq = 0
        pop, push = heapq.heappop, heapq.heappush
        for n in range(log.bookings):
            clock += rng.expovariate(rate)
            t0 = int(clock)
            while heap and heap[0][0] <= t0:
                yield pop(heap)
            events = self._booking(n, t0)
            self.stats.bookings = n + 1
            next_t = events[1][0] if len(events) > 1 else 0
            seq += 1
            yield (t0, seq, events[0][1], next_t)
            for t, line in events[1:]:
                seq += 1
                push(heap, (t, seq, line, 0))
        while heap:
            yield pop(heap)

    # -- stage 2: the noise of a recorded log -----------------------------------------------------

    def lines(self) -> Iterator[bytes]:
        rng = self.noise_rng
        stats = self.stats
        pending: list[tuple[int, int, bytes]] = []
        pop, push = heapq.heappop, heapq.heappush
        seq = 0
        credit = 0  # out-of-order displacements owed, waiting for a later event close enough
        early_credit = 0  # same for booking events, waiting for a booking whose next event is near
        early_share = cal.EARLY_EVENTS_BOOKING_SHARE
        early_within = cal.EARLY_EVENTS_NEXT_WITHIN
        late_from = 1.0 - cal.LATE_SHARE
        ooo_from = late_from - cal.OUT_OF_ORDER_SHARE
        ooo_max = cal.OUT_OF_ORDER_MAX_SECONDS
        clean = self._clean()
        current = next(clean, None)
        while current is not None:
            following = next(clean, None)
            t, _, line, next_t = current
            while pending and pending[0][0] < t:
                stats.events += 1
                yield pop(pending)[2]
            r = rng.random()
            seq += 1
            if next_t and r < early_share:
                early_credit = min(early_credit + 1, 16)
            if early_credit and next_t and next_t - t <= early_within:
                early_credit -= 1
                push(pending, (next_t + rng.randint(1, cal.EARLY_EVENTS_MAX_SECONDS), seq, line))
                stats.early_events += 1
            elif r >= late_from:
                push(pending, (t + rng.randint(*cal.LATE_SECONDS), seq, line))
                stats.late += 1
            else:
                if r >= ooo_from:
                    credit = min(credit + 1, 16)
                if credit and following is not None and t < following[0] <= t + ooo_max:
                    credit -= 1
                    push(pending, (rng.randint(following[0], t + ooo_max), seq, line))
                    stats.out_of_order += 1
                else:
                    stats.events += 1
                    yield line
            if rng.random() < cal.DUPLICATE_SHARE:
                seq += 1
                push(pending, (t + rng.randint(0, cal.DUPLICATE_MAX_SECONDS), seq, line))
                stats.duplicates += 1
            current = following
        while pending:
            stats.events += 1
            yield pop(pending)[2]
