"""Definitely / possibly / within the hold limit, from the two bound logs of a day-precision source.

A source with dates only (``holdwatch import --format travis-county``) gives two logs of the same
bookings: ``--bound lower`` (every date resolved to make the hold as short as the data allows) and
``--bound upper`` (as long as it allows). Under each detainer form, the report's own replay
(:func:`streams.report.holds.build_report`, the engine's ``hold_limit_exceeded`` alerts) decides
per log, and a booking is

* **definitely** over the limit when it exceeded it on the lower log: no hour of the day
  intervals makes the hold shorter;
* **possibly** over when it exceeded it on the upper log only;
* **within** when it did not exceed it even on the upper log: no hour makes it longer;
* **without eligibility** when the log has no eligible event for it (nothing to measure).

The weekend rule of 8 CFR 287.7(d) (a count ending as a weekend begins is exceeded only when the
next counted day begins) is the engine's (``calendar.business_deadline``), applied to each bound's
resolved instants: nothing is recomputed here. A booking exceeded on the lower log but not on the
upper one would contradict the bounds: it is listed in ``inconsistent`` (never expected).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.policy.model import HoldLimit, Policy
from streams.report.holds import HoldReport, HoldRow, build_report

CLASSES = ("exceeded_definitely", "exceeded_possibly", "within", "without_eligibility")


@dataclass(frozen=True)
class DefiniteCase:
    """A booking over the limit under both bounds: the hours over are a range."""

    booking_id: str
    eligible_at: int  # the upper bound's: start of the recorded day, µs
    custody_end_at: int | None  # the lower bound's: start of the recorded day
    zone: str
    hours_over_lower: float  # at least
    hours_over_upper: float | None  # at most
    release_reason: str | None


@dataclass
class FormBounds:
    """The classification of every booking with a detainer, with every detainer read as ``form``."""

    form: str
    limit: HoldLimit
    classes: dict[str, str]  # booking id -> one of CLASSES
    definite: list[DefiniteCase]
    inconsistent: list[str]
    lower: HoldReport
    upper: HoldReport

    def count(self, name: str) -> int:
        return sum(1 for c in self.classes.values() if c == name)

    def totals(self) -> dict[str, Any]:
        return {
            **{name: self.count(name) for name in CLASSES},
            "bookings_with_detainer": len(self.classes),
            "limit_hours": self.limit.hours,
            "counting": self.limit.counting,
            "definite_cases": [
                {
                    "booking_id": c.booking_id,
                    "hours_over_at_least": round(c.hours_over_lower, 2),
                    "hours_over_at_most": None
                    if c.hours_over_upper is None
                    else round(c.hours_over_upper, 2),
                    "release_reason": c.release_reason,
                }
                for c in self.definite
            ],
            "inconsistent": list(self.inconsistent),
            "mismatches": self.lower.mismatches + self.upper.mismatches,
        }


@dataclass
class BoundsReport:
    forms: dict[str, FormBounds]
    bookings: int
    release_reasons: dict[str, str] = field(default_factory=dict)  # booking id -> reason

    def with_reason(self, reason: str) -> dict[str, dict[str, str]]:
        """Bookings whose release had ``reason`` -> their class under each form."""
        return {
            booking_id: {
                form: fb.classes.get(booking_id, "no detainer") for form, fb in self.forms.items()
            }
            for booking_id, why in sorted(self.release_reasons.items())
            if why == reason
        }

    def totals(self) -> dict[str, Any]:
        return {
            "bookings": self.bookings,
            "forms": {form: fb.totals() for form, fb in self.forms.items()},
        }


def release_reasons(lines: Iterable[bytes]) -> dict[str, str]:
    """Booking id -> ``reason`` of its release (not eligibility) event, where it has one."""
    out: dict[str, str] = {}
    for raw in lines:
        if b'"release"' not in raw:
            continue
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if (
            isinstance(event, dict)
            and event.get("type") == "release"
            and event.get("phase") != "eligible"
            and isinstance(event.get("reason"), str)
        ):
            out[str(event.get("booking_id"))] = event["reason"]
    return out


def _hours(row: HoldRow | None) -> float | None:
    return None if row is None else row.hours_over


def classify(
    form: str, limit: HoldLimit, lower: HoldReport, upper: HoldReport, reasons: dict[str, str]
) -> FormBounds:
    upper_rows = {r.booking_id: r for r in upper.rows}
    classes: dict[str, str] = {}
    definite: list[DefiniteCase] = []
    inconsistent: list[str] = []
    for row in lower.rows:
        high = upper_rows.get(row.booking_id)
        if row.eligible_at is None:
            classes[row.booking_id] = "without_eligibility"
        elif row.exceeded:
            classes[row.booking_id] = "exceeded_definitely"
            if high is None or not high.exceeded:
                inconsistent.append(row.booking_id)
            definite.append(
                DefiniteCase(
                    booking_id=row.booking_id,
                    eligible_at=row.eligible_at
                    if high is None or high.eligible_at is None
                    else high.eligible_at,
                    custody_end_at=row.custody_end_at,
                    zone=row.zone,
                    hours_over_lower=row.hours_over or 0.0,
                    hours_over_upper=_hours(high),
                    release_reason=reasons.get(row.booking_id),
                )
            )
        elif high is not None and high.exceeded:
            classes[row.booking_id] = "exceeded_possibly"
        else:
            classes[row.booking_id] = "within"
    missing = sorted(upper_rows.keys() - {r.booking_id for r in lower.rows})
    inconsistent += [f"{booking_id}: only in the upper log" for booking_id in missing]
    definite.sort(key=lambda c: (-c.hours_over_lower, c.booking_id))
    return FormBounds(form, limit, classes, definite, inconsistent, lower, upper)


def build_bounds(
    lower_lines: Sequence[bytes],
    upper_lines: Sequence[bytes],
    policy: Policy,
    forms: Sequence[str],
) -> BoundsReport:
    """Replays each log once per form (every detainer read as that form) and classifies."""
    reasons = release_reasons(lower_lines)
    result: dict[str, FormBounds] = {}
    bookings = 0
    for form in forms:
        lower = build_report(lower_lines, policy, form_override=form, compare_forms=False)
        upper = build_report(upper_lines, policy, form_override=form, compare_forms=False)
        bookings = lower.bookings
        result[form] = classify(form, policy.forms[form], lower, upper, reasons)
    return BoundsReport(result, bookings, reasons)
