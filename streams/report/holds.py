"""Per-booking hold facts from a recorded log, computed with the engine's own code.

One pass over the log feeds:

* an in-process replay (:class:`~streams.replay.runner.InProcessReplay`) under the report's policy
  (with ``--form-override`` applied), whose ``hold_limit_exceeded`` firing alerts decide which
  bookings *exceeded* the limit, exactly as the engine does (watermark, lateness, rule switches);
* one more replay per detainer form, with every detainer read as that form, for the
  "exceeded under each form" comparison;
* a fold of the accepted events into :class:`~streams.engine.case.Case` records (the engine's
  ``apply``; lines the replay dead-lettered are skipped), from which the facts are computed: the
  deadline with :func:`streams.engine.calendar.deadline`, the policy's form definitions and the
  jurisdiction's zone (``policy.timezone_for``), and the violations by calling the engine's
  ``hold_limit_exceeded`` rule itself.

The computed violations are compared with the alerts by alert id (the engine's deterministic
:func:`~streams.engine.alerts.alert_id`): any difference is listed in ``HoldReport.mismatches``
(it can only come from evidence that arrived after an alert fired, or a booking the engine evicted
and saw again). The alerts stay authoritative for ``exceeded``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from streams.contract.decode import Decoder, Rejected
from streams.contract.timestamps import HOUR
from streams.engine.alerts import Alert, alert_id
from streams.engine.case import Case, Detainer, apply
from streams.engine.rules import RULES, Context
from streams.engine.watermark import NEVER
from streams.policy.model import HoldLimit, Policy
from streams.replay.runner import DeadLetterSink, InProcessReplay
from streams.replay.summary import ReplaySummary

RULE = "hold_limit_exceeded"
DAY = 24 * HOUR

# Distribution of hours held beyond eligibility: (label, upper bound in hours, exclusive).
# "0 h" is its own bucket: released (or transferred) at the moment of eligibility.
BUCKETS: tuple[tuple[str, float], ...] = (
    ("0 h", 0.0),
    ("<12 h", 12.0),
    ("12–24 h", 24.0),
    ("24–48 h", 48.0),
    ("48–72 h", 72.0),
    ("72 h–1 w", 168.0),
    (">1 w", float("inf")),
)


def bucket_of(hours: float) -> str:
    """The distribution bucket of ``hours`` held beyond eligibility."""
    if hours <= 0:
        return BUCKETS[0][0]
    for label, upper in BUCKETS[1:]:
        if hours < upper:
            return label
    return BUCKETS[-1][0]  # pragma: no cover - inf bound


def override_forms(policy: Policy, form: str) -> Policy:
    """The policy with every form name mapped to ``form``'s limit: detainers read as ``form``."""
    try:
        limit = policy.forms[form]
    except KeyError:
        raise ValueError(f"the policy defines no form {form!r}") from None
    return replace(policy, forms=dict.fromkeys(policy.forms, limit))


def _hours(micros: int) -> float:
    return micros / HOUR


@dataclass(frozen=True, slots=True)
class HoldRow:
    """One booking with an issued detainer. Times are microseconds; ``zone`` is the case's zone.

    The deadline fields describe the governing detainer: the one with the longest hold past its
    deadline if any exceeded, else the first issued (bookings have one in the Pierce data).
    """

    booking_id: str
    jurisdiction: str | None
    zone: str
    booked_at: int | None
    eligible_at: int | None
    custody_end_at: int | None  # None while still held as of the report time
    custody_end_phase: str | None
    held_until: int  # custody end, or the report's as-of time while still held
    detainers: int
    detainer_id: str
    form: str  # as recorded in the log
    limit: HoldLimit | None  # the limit applied (after any override); None without eligibility
    issued_at: int
    lifted_at: int | None
    deadline: int | None  # None without eligibility
    violation_at: int | None  # max(deadline, issued): when the hold became unlawful, if it did
    exceeded: bool  # the replay fired hold_limit_exceeded for this booking
    computed_exceeded: bool  # the same decision made here from the case (should agree)
    over: int | None  # microseconds held past violation_at (custody end, lift, or as-of)

    @property
    def still_held(self) -> bool:
        return self.custody_end_at is None

    @property
    def beyond_eligible(self) -> int | None:
        """Microseconds held after becoming release-eligible (never negative)."""
        if self.eligible_at is None:
            return None
        return max(self.held_until - self.eligible_at, 0)

    @property
    def hours_beyond_eligible(self) -> float | None:
        beyond = self.beyond_eligible
        return None if beyond is None else _hours(beyond)

    @property
    def hours_over(self) -> float | None:
        return None if self.over is None or not self.exceeded else _hours(self.over)

    @property
    def stay(self) -> int | None:
        """Booking to custody end; None while still held or without a booking event."""
        if self.booked_at is None or self.custody_end_at is None:
            return None
        return self.custody_end_at - self.booked_at


@dataclass(frozen=True, slots=True)
class FormOutcome:
    """How many holds exceeded the limit with every detainer read as ``form``."""

    form: str
    limit: HoldLimit
    exceeded: frozenset[str]  # booking ids with a firing hold_limit_exceeded alert (any detainer)
    hours_over: tuple[float, ...]  # per exceeded booking (computed), for the median

    def median_hours_over(self) -> float | None:
        return statistics.median(self.hours_over) if self.hours_over else None


@dataclass
class HoldReport:
    rows: list[HoldRow]  # every booking with an issued detainer, sorted by booking id
    as_of: int  # the replay's final watermark: everything up to it is decided
    bookings: int  # every booking seen in the log
    policy_source: str
    form_override: str | None
    by_form: dict[str, FormOutcome]
    replay: ReplaySummary
    alerts_fired: int  # hold_limit_exceeded firing alerts of the report's replay (per detainer)
    mismatches: list[str] = field(default_factory=list)

    # -- selections ----------------------------------------------------------------------

    @property
    def eligible_rows(self) -> list[HoldRow]:
        return [r for r in self.rows if r.eligible_at is not None]

    @property
    def exceeded_rows(self) -> list[HoldRow]:
        return [r for r in self.rows if r.exceeded]

    def exceeded_ids(self) -> set[str]:
        return {r.booking_id for r in self.rows if r.exceeded}

    # -- totals --------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        """Everything the text summary says, as numbers (the ``--json`` output)."""
        eligible = self.eligible_rows
        beyond = [r.hours_beyond_eligible for r in eligible if r.hours_beyond_eligible is not None]
        past = [h for h in beyond if h > 0]
        stays = [r.stay / DAY for r in self.rows if r.stay is not None]
        over = [r.hours_over for r in self.exceeded_rows if r.hours_over is not None]
        distribution = dict.fromkeys((label for label, _ in BUCKETS), 0)
        for hours in beyond:
            distribution[bucket_of(hours)] += 1
        return {
            "as_of": self.as_of,
            "policy": self.policy_source,
            "form_override": self.form_override,
            "bookings": self.bookings,
            "bookings_with_detainer": len(self.rows),
            "with_eligibility": len(eligible),
            "without_eligibility": len(self.rows) - len(eligible),
            "still_held": sum(1 for r in self.rows if r.still_held),
            "exceeded": len(self.exceeded_rows),
            "hours_over": _stats(over),
            "hours_beyond_eligibility": _stats(beyond),
            "held_past_eligibility": {"bookings": len(past), **_stats(past)},
            "distribution": distribution,
            "stay_days": {"bookings": len(stays), **_stats(stays)},
            "exceeded_by_form": {
                name: {
                    "limit_hours": outcome.limit.hours,
                    "counting": outcome.limit.counting,
                    "exceeded": len(outcome.exceeded),
                    "median_hours_over": _round(outcome.median_hours_over()),
                }
                for name, outcome in self.by_form.items()
            },
            "consistency": {
                "alerts_fired": self.alerts_fired,
                "mismatches": list(self.mismatches),
            },
            "replay": {
                "events_read": self.replay.events_read,
                "accepted": self.replay.accepted,
                "duplicates": self.replay.duplicates,
                "dead_letters": self.replay.dead_letter_total,
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "mean": None, "max": None}
    return {
        "median": _round(statistics.median(values)),
        "mean": _round(statistics.fmean(values)),
        "max": _round(max(values)),
    }


class _Run:
    """An in-process replay under one policy, keeping its hold_limit_exceeded firing alerts."""

    def __init__(self, policy: Policy, on_dead_letter: DeadLetterSink | None = None) -> None:
        self.policy = policy
        self.fired: dict[str, set[str]] = {}  # booking id -> alert ids
        if on_dead_letter is None:
            self.replay = InProcessReplay(policy, self._on_alert)
        else:
            self.replay = InProcessReplay(policy, self._on_alert, on_dead_letter)

    def _on_alert(self, alert: Alert) -> None:
        # One alert per detainer: a booking is "exceeded" once, however many of its detainers.
        if alert["rule"] == RULE and alert["state"] == "firing":
            self.fired.setdefault(alert["booking_id"], set()).add(alert["alert_id"])


@dataclass(frozen=True, slots=True)
class _Violation:
    detainer: Detainer
    deadline: int
    at: int  # when the hold became unlawful
    fires: bool  # the watermark has reached it (and the rule is on): an alert is due
    over: int  # microseconds past ``at`` as of the report time


def _violations(case: Case, policy: Policy, as_of: int) -> list[_Violation]:
    """What the engine's ``hold_limit_exceeded`` rule finds, per issued detainer (called through
    its declaration, so the report can never disagree with the rule), plus the detainers that
    stayed within the limit (``fires`` False, ``over`` 0)."""
    out: list[_Violation] = []
    if case.eligible_at is None:
        return out
    ctx = Context(case, policy)
    rule = RULES[RULE].evaluate
    assert rule is not None
    found = {finding.detainer: finding for finding in rule(ctx)}
    enabled = policy.rule_enabled(RULE, case.jurisdiction)
    for detainer in case.detainers:
        if detainer.issued_at is None or detainer.form is None:
            continue
        deadline = ctx.deadline(detainer)
        finding = found.get(detainer.detainer_id)
        if finding is None:  # within the limit: ended at or before it
            out.append(_Violation(detainer, deadline, max(deadline, detainer.issued_at), False, 0))
            continue
        fires = enabled and finding.at <= as_of
        ended = finding.resolved_at
        end = as_of if ended is None else min(ended, as_of)
        over = max(end - finding.at, 0) if fires else 0
        out.append(_Violation(detainer, deadline, finding.at, fires, over))
    return out


class ReportBuilder:
    """Feed the lines of a log (any chunking), then :meth:`finish` for the report."""

    def __init__(
        self, policy: Policy, form_override: str | None = None, compare_forms: bool = True
    ) -> None:
        self.base_policy = policy
        self.form_override = form_override
        self.policy = override_forms(policy, form_override) if form_override else policy
        self._dead_lines: set[int] = set()
        self._main = _Run(self.policy, self._on_dead_letter)
        self._what_if: dict[str, _Run] = {}
        if compare_forms:
            for name in policy.forms:
                self._what_if[name] = (
                    self._main if name == form_override else _Run(override_forms(policy, name))
                )
        self._decoder = Decoder()
        self._cases: dict[str, Case] = {}
        self._line = 0

    def _on_dead_letter(self, record: dict[str, Any]) -> None:
        self._dead_lines.add(int(record["line"]))

    def feed(self, lines: Iterable[bytes]) -> None:
        chunk = list(lines)
        self._main.replay.feed(chunk)
        for run in self._what_if.values():
            if run is not self._main:
                run.replay.feed(chunk)
        decode = self._decoder.decode
        for raw in chunk:
            self._line += 1
            line = raw.rstrip(b"\r\n")
            if not line.strip() or self._line in self._dead_lines:
                continue
            try:
                event = decode(line)
            except Rejected:  # pragma: no cover - the replay dead-lettered it already
                continue
            case = self._cases.get(event.booking_id)
            if case is None:
                case = self._cases[event.booking_id] = Case(event.booking_id)
            elif event.event_id in case.seen:
                continue
            apply(case, event)
        self._dead_lines.clear()

    def finish(self, until: int | None = None) -> HoldReport:
        summary = self._main.replay.finish(until)
        for run in self._what_if.values():
            if run is not self._main:
                run.replay.finish(until)
        # The watermark is past everything settled (a finding fires once it is strictly past its
        # time, and the end of a log moves it to the end + 1 µs): the report is as of the instant
        # before it.
        as_of = summary.watermark if summary.watermark == NEVER else summary.watermark - 1
        rows: list[HoldRow] = []
        mismatches: list[str] = []
        for booking_id in sorted(self._cases):
            case = self._cases[booking_id]
            if not any(d.issued_at is not None and d.form is not None for d in case.detainers):
                continue
            found = _violations(case, self.policy, as_of)
            computed = {
                alert_id(RULE, booking_id, v.at, detainer_id=v.detainer.detainer_id)
                for v in found
                if v.fires
            }
            fired = self._main.fired.get(booking_id, set())
            if computed != fired:
                mismatches.append(
                    f"{booking_id}: computed {len(computed)} violation(s), replay fired "
                    f"{len(fired)} hold_limit_exceeded alert(s)"
                )
            rows.append(self._row(case, found, as_of, exceeded=bool(fired)))
        by_form: dict[str, FormOutcome] = {}
        for name, run in self._what_if.items():
            hours: list[float] = []
            for booking_id in sorted(run.fired):
                known = self._cases.get(booking_id)
                found = [] if known is None else _violations(known, run.policy, as_of)
                over = [v.over for v in found if v.fires]
                if over:
                    hours.append(_hours(max(over)))
            by_form[name] = FormOutcome(
                name, self.base_policy.forms[name], frozenset(run.fired), tuple(hours)
            )
        return HoldReport(
            rows=rows,
            as_of=as_of,
            bookings=len(self._cases),
            policy_source=self.policy.source,
            form_override=self.form_override,
            by_form=by_form,
            replay=summary,
            alerts_fired=sum(len(ids) for ids in self._main.fired.values()),
            mismatches=mismatches,
        )

    def _row(self, case: Case, found: list[_Violation], as_of: int, exceeded: bool) -> HoldRow:
        issued = sorted(
            (d for d in case.detainers if d.issued_at is not None and d.form is not None),
            key=lambda d: (d.issued_at or 0, d.detainer_id),
        )
        firing = [v for v in found if v.fires]
        governing: _Violation | None
        if firing:
            governing = max(firing, key=lambda v: (v.over, -v.at))
        else:
            governing = next((v for v in found if v.detainer is issued[0]), None)
        detainer = governing.detainer if governing else issued[0]
        assert detainer.issued_at is not None and detainer.form is not None
        ended = case.custody_end_at
        if ended is not None and ended > as_of:
            ended = None  # not yet, as of the report time
        return HoldRow(
            booking_id=case.booking_id,
            jurisdiction=case.jurisdiction,
            zone=self.policy.timezone_for(case.jurisdiction, case.timezone),
            booked_at=case.booked_at,
            eligible_at=case.eligible_at,
            custody_end_at=ended,
            custody_end_phase=case.custody_end_phase if ended is not None else None,
            held_until=as_of if ended is None else ended,
            detainers=len(issued),
            detainer_id=detainer.detainer_id,
            form=detainer.form,
            limit=self.policy.forms[detainer.form] if governing else None,
            issued_at=detainer.issued_at,
            lifted_at=detainer.lifted_at,
            deadline=governing.deadline if governing else None,
            violation_at=governing.at if governing and governing.fires else None,
            exceeded=exceeded,
            computed_exceeded=bool(firing),
            over=governing.over if governing and governing.fires else None,
        )


def build_report(
    lines: Iterable[bytes],
    policy: Policy,
    form_override: str | None = None,
    until: int | None = None,
    compare_forms: bool = True,
) -> HoldReport:
    """One call: the report of a whole log."""
    builder = ReportBuilder(policy, form_override, compare_forms)
    builder.feed(lines)
    return builder.finish(until)


__all__ = [
    "BUCKETS",
    "FormOutcome",
    "HoldReport",
    "HoldRow",
    "ReportBuilder",
    "bucket_of",
    "build_report",
    "override_forms",
]
