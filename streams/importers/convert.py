"""Turn the rows of a jail export into a recorded event log, for any :class:`ExportMapping`.

Per booking (all rows sharing the booking id) it emits, with deterministic event ids:

* ``<booking_id>-booking``: ``booking`` at the booking time, one charge per CHARGE row (a booking
  with hold rows only gets its hold rows as charges: the contract needs one);
* ``<booking_id>-detainer``: ``detainer`` ``issued`` at the booking time when the booking has an
  immigration-hold row (exports do not record when the detainer was lodged; the booking time is
  the earliest it can have been, so the hold-limit clock is never started late);
* ``<booking_id>-detainer-lifted``: ``lifted`` at the hold row's end time when the mapping says
  the hold was cancelled;
* ``<booking_id>-eligible``: ``release`` ``eligible`` at the latest end time of the rows that
  are a basis of custody (charges and other agencies' holds, never the immigration hold); none
  when there is no such row, or when one of them has no end time (its basis may have lasted to
  the release: an invented eligibility time would invent a hold);
* ``<booking_id>-release``: ``release`` ``transferred_to_ice`` or ``released`` at the release
  time (none while the booking is still open).

Times derived from row end times (eligible, lifted) are clamped into [booking, release] and
counted: an end recorded after the person left does not extend custody. Events are sorted by
instant, stably: ties keep the order above, and bookings keep the order of the file.

Rows that cannot be mapped are reported by reason with their line numbers, never dropped in
silence. A booking with any unmappable row is left out as a whole (a partial booking would give a
wrong eligibility time); its other rows are reported too. A mapping may also leave out whole
bookings by a named reason (``exclude``): every booking of the file is imported, excluded by
reason, or unmappable, and the summary says how many of each.

**Day precision** (an export with dates only): a date is an interval of one local day, and the
conversion does not pretend to know the hour. It is asked for a bound:

* ``lower``: every interval resolved to make the hold as short as the data allows: eligibility
  at the *end* of its day (the next local midnight), custody ending (release, lift) at the
  *start* of its day. A ``hold_limit_exceeded`` on this log is certain;
* ``upper``: the opposite (eligible at the start of its day, custody ending at the end of its
  day): the hold as long as the data allows; an alert on this log is only possible.

The booking and the detainer's issue are at the start of the booking day under both bounds (the
earliest they can have been; the hold starts at eligibility, which is never before them). Every
event then carries ``precision: "day"`` and its ``bound``, and the eligible event's id ends with
the bound (``<booking_id>-eligible-lower``): an alert's ``details.evidence`` names it, so every
alert says which bound produced it. Replaying a lower and an upper log together is refused by the
engine as it should be: the shared event ids differ in content (``conflicting_duplicate``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.contract.vocabulary import BOUNDS, FORMS, Bound, Form
from streams.importers.mapping import ExportMapping, Row, RowKind, slug
from streams.importers.reader import Record

Event = dict[str, Any]

DEFAULT_FORM: Form = "I-247A-2017"
MAX_CHARGES = 64  # booking.schema.json: charges maxItems
LONGEST_SUFFIX = "-detainer-lifted"  # longer than "-eligible-lower" / "-eligible-upper"
BOOKING_ID_MAX = 128 - len(LONGEST_SUFFIX)  # event ids are at most 128 characters

DST_AMBIGUOUS = "ambiguous (fall back): first occurrence, daylight time"
DST_NONEXISTENT = "nonexistent (spring forward): read with the offset before the change, +1 h"


class UnmappableRow(ValueError):
    """A row that cannot become part of an event; the message is the reason (grouped by it)."""


def local_time(text: str, time_format: str, zone: ZoneInfo) -> tuple[datetime, str | None]:
    """Parse an offset-less local time; also say whether it fell in a DST change.

    Deterministic DST handling (PEP 495 ``fold=0``): an ambiguous fall-back time (01:30 occurs
    twice) is its first occurrence, in daylight time; a nonexistent spring-forward time (02:30
    never occurs) is read with the offset in force before the change, i.e. it becomes 03:30
    daylight time, as a clock not yet set forward would have read.

    The result is in UTC: aware datetimes sharing one ``tzinfo`` compare by wall clock, ignoring
    ``fold``, which would misorder the two 01:30s of a fall-back night.
    """
    naive = datetime.strptime(text.strip(), time_format)
    first = naive.replace(tzinfo=zone, fold=0)
    moment = first.astimezone(UTC)
    if first.utcoffset() == naive.replace(tzinfo=zone, fold=1).utcoffset():
        return moment, None
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment, DST_AMBIGUOUS
    return moment, DST_NONEXISTENT


def timestamp(moment: datetime, zone: ZoneInfo) -> str:
    """RFC 3339 with the local offset: local time reads better and keeps the instant exact."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Row:
    line: int
    raw: Row
    kind: RowKind
    booking_at: datetime
    release_at: datetime | None
    ends_at: datetime | None


@dataclass
class Summary:
    """What the conversion did: counts for the stderr report and for tests."""

    mapping: ExportMapping
    rows: int = 0
    bookings: int = 0
    detainers: int = 0
    detainers_lifted: int = 0
    eligible: int = 0
    releases: int = 0
    transfers: int = 0
    open_bookings: int = 0
    events: int = 0
    charges_truncated: int = 0
    no_eligible: Counter[str] = field(default_factory=Counter)
    clamped: Counter[str] = field(default_factory=Counter)
    dst: dict[str, set[str]] = field(default_factory=dict)
    unmappable: dict[str, list[int]] = field(default_factory=dict)
    bound: Bound | None = None
    bookings_seen: int = 0
    """Distinct booking ids in the file (rows without one are unmappable rows, not bookings)."""
    bookings_unmappable: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    """Bookings left out whole by the mapping's ``exclude``, by reason."""

    @property
    def unmappable_rows(self) -> int:
        return sum(len(lines) for lines in self.unmappable.values())

    def reject(self, reason: str, lines: Iterable[int]) -> None:
        self.unmappable.setdefault(reason, []).extend(lines)

    def lines(self) -> list[str]:
        """The human report (stderr): counts, adjustments, rejects, rules that cannot apply."""
        m = self.mapping
        precision = ""
        if m.precision != "second":
            precision = f", {m.precision} precision, {self.bound} bound"
        out = [
            f"import {m.name} -> jurisdiction {m.jurisdiction} ({m.timezone}{precision})",
            f"  rows read: {self.rows}, mapped: {self.rows - self.unmappable_rows}, "
            f"unmappable: {self.unmappable_rows}",
            f"  bookings: {self.bookings}, detainers: {self.detainers} "
            f"(lifted: {self.detainers_lifted}), eligible events: {self.eligible}, "
            f"releases: {self.releases} (transfers to ICE: {self.transfers}), "
            f"still in custody: {self.open_bookings}",
            f"  events written: {self.events}",
        ]
        if self.excluded or m.exclude is not None:
            out.append(
                f"  bookings in file: {self.bookings_seen} = imported {self.bookings}"
                f" + excluded {self.excluded.total()} + unmappable {self.bookings_unmappable}"
            )
            out += [f"    {n:>5}  excluded: {why}" for why, n in sorted(self.excluded.items())]
        if self.no_eligible:
            out.append(f"  bookings without eligible event: {sum(self.no_eligible.values())}")
            out += [f"    {n:>5}  {why}" for why, n in sorted(self.no_eligible.items())]
        if self.clamped:
            out.append(f"  derived times clamped into [booking, release]: {self.clamped.total()}")
            out += [f"    {n:>5}  {why}" for why, n in sorted(self.clamped.items())]
        if self.dst:
            out.append("  local times in a DST change:")
            out += [f"    {len(v):>5}  {why}" for why, v in sorted(self.dst.items())]
        if self.charges_truncated:
            out.append(f"  bookings with charges cut to {MAX_CHARGES}: {self.charges_truncated}")
        if self.unmappable:
            out.append("  unmappable rows by reason:")
            for why, lines in sorted(self.unmappable.items()):
                shown = ", ".join(str(n) for n in sorted(lines)[:10])
                more = ", ..." if len(lines) > 10 else ""
                out.append(f"    {len(lines):>5}  {why} (lines {shown}{more})")
        if m.unobserved_rules:
            because = f" ({m.unobserved_because})" if m.unobserved_because else ""
            out.append(
                f"  rules not applicable to this source{because}: {', '.join(m.unobserved_rules)}"
            )
        return out


@dataclass
class Conversion:
    events: list[Event]
    summary: Summary


class _Converter:
    """One conversion run: the mapping, the chosen form and the running summary."""

    def __init__(self, mapping: ExportMapping, form: str, bound: Bound | None) -> None:
        if form not in FORMS:
            raise ValueError(f"unknown detainer form {form!r}")
        if mapping.precision == "day" and bound not in BOUNDS:
            raise ValueError(
                f"{mapping.name} has dates only: a bound ({', '.join(BOUNDS)}) is needed"
            )
        if mapping.precision != "day" and bound is not None:
            raise ValueError(f"{mapping.name} has exact times: a bound does not apply")
        self.m = mapping
        self.form = form
        self.bound = bound
        self.zone = ZoneInfo(mapping.timezone)
        self.summary = Summary(mapping, bound=bound)
        self.marks: dict[str, str] = {}
        if bound is not None:
            self.marks = {"precision": mapping.precision, "bound": bound}

    def day_end(self, moment: datetime) -> datetime:
        """The next local midnight after the start of ``moment``'s day (23 or 25 hours later on a
        DST day: a date is one local calendar day, however long)."""
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def opening(self, moment: datetime) -> datetime:
        """A time that starts the hold (eligibility): at the end of its day under ``lower``."""
        return self.day_end(moment) if self.bound == "lower" else moment

    def closing(self, moment: datetime) -> datetime:
        """A time that ends the hold (release, lift): at the end of its day under ``upper``."""
        return self.day_end(moment) if self.bound == "upper" else moment

    def time(self, row: Row, column: str, required: bool) -> datetime | None:
        text = row[column].strip()
        if not text:
            if required:
                raise UnmappableRow(f"missing {column}")
            return None
        try:
            moment, dst = local_time(text, self.m.time_format, self.zone)
        except ValueError:
            raise UnmappableRow(f"bad {column}") from None
        if dst:
            self.summary.dst.setdefault(dst, set()).add(text)
        return moment

    def parse(self, record: Record) -> _Row:
        if record.problem:
            raise UnmappableRow("malformed row (field count differs from header)")
        row = record.row
        booking_id = row[self.m.booking_id].strip()
        if not booking_id:
            raise UnmappableRow(f"missing {self.m.booking_id}")
        if len(booking_id) > BOOKING_ID_MAX:
            raise UnmappableRow(f"{self.m.booking_id} longer than {BOOKING_ID_MAX}")
        kind = self.m.row_kind(row)
        if kind is RowKind.CHARGE and not self.m.charge(row).code:
            raise UnmappableRow("charge without code")
        booking_at = self.time(row, self.m.booking_time, required=True)
        assert booking_at is not None
        return _Row(
            line=record.line,
            raw=row,
            kind=kind,
            booking_at=booking_at,
            release_at=self.time(row, self.m.release_time, required=False),
            ends_at=self.time(row, self.m.basis_end_time, required=False),
        )

    def check_booking(self, rows: list[_Row]) -> None:
        """The columns that describe the booking must agree on all its rows."""
        first = rows[0]
        if any(r.booking_at != first.booking_at for r in rows):
            raise UnmappableRow(f"inconsistent {self.m.booking_time} within booking")
        if any(r.release_at != first.release_at for r in rows):
            raise UnmappableRow(f"inconsistent {self.m.release_time} within booking")
        for column in self.m.booking_columns:
            if any(r.raw[column].strip() != first.raw[column].strip() for r in rows):
                raise UnmappableRow(f"inconsistent {column} within booking")
        if first.release_at is not None and first.release_at < first.booking_at:
            raise UnmappableRow(f"{self.m.release_time} before {self.m.booking_time}")

    def clamp(
        self,
        moment: datetime,
        booked: datetime,
        left: datetime | None,
        what: str,
        recorded: tuple[datetime, datetime | None] | None = None,
    ) -> datetime:
        """``moment`` moved into [booked, left]. Counted when the *recorded* times (``recorded``:
        the unresolved (time, release) of a day-precision source) are out of order: a bound
        resolving a same-day eligibility and release to "end of day" and "start of day" is the
        bound at work, not a data problem."""
        raw, raw_left = recorded or (moment, left)
        if raw < booked:
            self.summary.clamped[f"{what} before {self.m.booking_time} -> booking time"] += 1
        elif raw_left is not None and raw > raw_left:
            self.summary.clamped[f"{what} after {self.m.release_time} -> release time"] += 1
        if moment < booked:
            return booked
        if left is not None and moment > left:
            return left
        return moment

    def booking_events(self, booking_id: str, rows: list[_Row]) -> list[tuple[datetime, Event]]:
        m, s = self.m, self.summary
        first = rows[0]
        booked, recorded_left = first.booking_at, first.release_at
        left = None if recorded_left is None else self.closing(recorded_left)
        base = {"booking_id": booking_id}
        out: list[tuple[datetime, Event]] = []

        charge_rows = [r for r in rows if r.kind is RowKind.CHARGE] or rows
        charges = [m.charge(r.raw).to_event() for r in charge_rows]
        if len(charges) > MAX_CHARGES:
            s.charges_truncated += 1
            charges = charges[:MAX_CHARGES]
        booking: Event = {
            "type": "booking",
            "event_id": f"{booking_id}-booking",
            **base,
            "occurred_at": timestamp(booked, self.zone),
            "person_id": m.person_id(booking_id),
            "jurisdiction": m.jurisdiction,
            "timezone": m.timezone,
            "charges": charges,
            **self.marks,
        }
        out.append((booked, booking))
        s.bookings += 1

        holds = [r for r in rows if r.kind is RowKind.IMMIGRATION_HOLD]
        if holds:
            detainer_id = f"{booking_id}-detainer"
            issued: Event = {
                "type": "detainer",
                "event_id": detainer_id,
                **base,
                "occurred_at": timestamp(booked, self.zone),
                "detainer_id": detainer_id,
                "action": "issued",
                "form": self.form,
                **self.marks,
            }
            out.append((booked, issued))
            s.detainers += 1
            lift_times = [r.ends_at for r in holds if m.detainer_lifted(r.raw) and r.ends_at]
            if len(lift_times) == len(holds):  # every hold row cancelled, at a known time
                recorded = max(lift_times)
                lifted_at = self.clamp(
                    self.closing(recorded), booked, left, "detainer lift", (recorded, recorded_left)
                )
                lifted: Event = {
                    "type": "detainer",
                    "event_id": f"{booking_id}-detainer-lifted",
                    **base,
                    "occurred_at": timestamp(lifted_at, self.zone),
                    "detainer_id": detainer_id,
                    "action": "lifted",
                    **self.marks,
                }
                out.append((lifted_at, lifted))
                s.detainers_lifted += 1

        basis = [r for r in rows if r.kind is not RowKind.IMMIGRATION_HOLD]
        if not basis:
            s.no_eligible["no basis of custody besides the immigration hold"] += 1
        elif any(r.ends_at is None for r in basis):
            s.no_eligible[f"a basis of custody without {m.basis_end_time}"] += 1
        else:
            ended = [(r.ends_at, r) for r in basis if r.ends_at is not None]
            # max() keeps the first of equal times: the file's order decides the reason.
            basis_end, last = max(ended, key=lambda pair: pair[0])
            eligible_at = self.clamp(
                self.opening(basis_end), booked, left, "eligible", (basis_end, recorded_left)
            )
            suffix = f"-{self.bound}" if self.bound else ""
            eligible: Event = {
                "type": "release",
                "event_id": f"{booking_id}-eligible{suffix}",
                **base,
                "occurred_at": timestamp(eligible_at, self.zone),
                "phase": "eligible",
                **self.marks,
            }
            if reason := slug(last.raw[m.row_disposition]):
                eligible["reason"] = reason
            out.append((eligible_at, eligible))
            s.eligible += 1

        if left is None:
            s.open_bookings += 1
        else:
            transfer = m.transferred_to_ice(first.raw)
            release: Event = {
                "type": "release",
                "event_id": f"{booking_id}-release",
                **base,
                "occurred_at": timestamp(left, self.zone),
                "phase": "transferred_to_ice" if transfer else "released",
                **self.marks,
            }
            if reason := slug(first.raw[m.booking_disposition]):
                release["reason"] = reason
            out.append((left, release))
            s.releases += 1
            s.transfers += transfer
        return out

    def run(self, records: Iterable[Record]) -> Conversion:
        s = self.summary
        if self.m.prepare is not None:
            records = self.m.prepare(list(records))
        bookings: dict[str, list[_Row]] = {}
        tainted: set[str] = set()
        for record in records:
            s.rows += 1
            try:
                parsed = self.parse(record)
            except UnmappableRow as exc:
                s.reject(str(exc), [record.line])
                if booking_id := record.row.get(self.m.booking_id, "").strip():
                    tainted.add(booking_id)
                continue
            bookings.setdefault(parsed.raw[self.m.booking_id].strip(), []).append(parsed)

        timed: list[tuple[datetime, Event]] = []
        s.bookings_seen = len(bookings.keys() | tainted)
        s.bookings_unmappable = len(tainted - bookings.keys())  # every row of it unmappable
        for booking_id, rows in bookings.items():
            lines = [r.line for r in rows]
            if booking_id in tainted:
                s.reject("another row of the booking is unmappable", lines)
                s.bookings_unmappable += 1
                continue
            try:
                self.check_booking(rows)
            except UnmappableRow as exc:
                s.reject(str(exc), lines)
                s.bookings_unmappable += 1
                continue
            if self.m.exclude is not None and (why := self.m.exclude([r.raw for r in rows])):
                s.excluded[why] += 1
                continue
            timed += self.booking_events(booking_id, rows)
        timed.sort(key=lambda pair: pair[0])  # stable: ties keep booking and file order
        events = [event for _, event in timed]
        s.events = len(events)
        return Conversion(events=events, summary=s)


def convert(
    records: Iterable[Record],
    mapping: ExportMapping,
    form: str = DEFAULT_FORM,
    bound: Bound | None = None,
) -> Conversion:
    """Convert ``records`` of an export described by ``mapping``; ``form`` is the detainer form
    recorded on every ``issued`` (exports do not say which form was used); ``bound`` resolves the
    dates of a day-precision export (required there, refused elsewhere)."""
    return _Converter(mapping, form, bound).run(records)
