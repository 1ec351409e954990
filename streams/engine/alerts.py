"""Alert lifecycle: turn findings into firing/resolved alerts as the watermark passes them.

A finding fires once the watermark is *past* its occurred_at (strictly: watermark > occurred_at)
and resolves once the watermark is past its end. Strict, because the watermark is "event time
minus the allowed lateness": a release dated exactly at the deadline that arrives exactly
``allowed_lateness`` late must still prevent the alert. The end of a log moves the watermark to
the end + 1 µs, so everything at or before the end is settled (``Engine.finish``).

An alert once fired is never retracted: if late evidence removes its finding, it stays
firing until custody ends (then resolves with ``details.superseded``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from streams.contract.timestamps import isoformat
from streams.contract.vocabulary import AlertState
from streams.engine import calendar
from streams.engine.case import Case
from streams.engine.record import CaseRecord, EmittedKey
from streams.engine.rules import RULES, Finding
from streams.policy.model import Policy

Alert = dict[str, Any]
Emit = Callable[[Alert], None]


def alert_id(
    rule: str, booking_id: str, occurred_at: int, jurisdiction: str = "", detainer_id: str = ""
) -> str:
    """Deterministic: the same violation gets the same id in every engine and every re-emission.

    A per-detainer rule's id includes the detainer: two detainers of one booking that become
    unlawful at the same instant are two alerts. Without a detainer the id is the one of
    rule, subject and occurred_at alone (jurisdiction-level alerts keep their ids).
    """
    subject = booking_id or f"jurisdiction:{jurisdiction}"
    text = f"{rule}\x1f{subject}\x1f{occurred_at}"
    if detainer_id:
        text += f"\x1f{detainer_id}"
    digest = hashlib.blake2b(text.encode(), digest_size=16)
    return digest.hexdigest()


def build_alert(
    policy: Policy,
    case: Case,
    rule: str,
    state: AlertState,
    at: int,
    details: dict[str, Any],
    detainer_id: str = "",
) -> Alert:
    zone = policy.timezone_for(case.jurisdiction, case.timezone)
    juris = case.jurisdiction or ""
    return alert_record(policy, rule, state, at, zone, details, case.booking_id, juris, detainer_id)


def alert_record(
    policy: Policy,
    rule: str,
    state: AlertState,
    at: int,
    zone_name: str,
    details: dict[str, Any],
    booking_id: str = "",
    jurisdiction: str = "",
    detainer_id: str = "",
) -> Alert:
    """The one builder of an alert record (schemas/alert.schema.json), per booking or per
    jurisdiction (``booking_id`` empty): severity and basis from the policy's rule table,
    ``occurred_at`` in the case's or jurisdiction's zone, the deterministic id."""
    info = policy.rules[rule]
    return {
        "alert_id": alert_id(
            rule, booking_id, at, "" if booking_id else jurisdiction, detainer_id=detainer_id
        ),
        "rule": rule,
        "severity": info.severity,
        "state": state,
        "booking_id": booking_id,
        "jurisdiction": jurisdiction,
        "occurred_at": isoformat(at, calendar.zone(zone_name)),
        "details": details,
        "policy": info.basis,
    }


def _resolved_details(
    case: Case, rule: str, details: dict[str, Any], at: int, ended: int, zone_name: str
) -> dict[str, Any]:
    out = dict(details)
    out["resolved_at"] = isoformat(ended, calendar.zone(zone_name))
    declared = RULES.get(rule)
    if declared is not None and declared.resolved is not None:
        declared.resolved(case, out, at, ended)  # the rule's own keys (hours_over, ...)
    if case.custody_end_at is not None and case.custody_end_at == ended:
        out["custody_end"] = case.custody_end_phase
    return out


def _lifted(case: Case, detainer_id: str) -> int | None:
    for detainer in case.detainers:
        if detainer.detainer_id == detainer_id:
            return detainer.lifted_at
    return None


def reconcile(
    case: CaseRecord, findings: Sequence[Finding], watermark: int, policy: Policy, emit: Emit
) -> int | None:
    """Emit what the watermark has reached; return the next time this case needs a look.

    An alert is keyed by (rule, occurred_at, detainer) (``Finding.key``): each detainer of a
    booking has its own firing/resolved lifecycle and its own ``hours_over``.
    """
    due: int | None = None
    current: set[EmittedKey] = set()
    zone_name = policy.timezone_for(case.jurisdiction, case.timezone)
    for finding in findings:
        key = finding.key
        if key in current:
            continue
        current.add(key)
        state = case.emitted.get(key)
        identity = finding.detainer
        if state is None and identity and case.emitted:
            # Stored before alerts were keyed per detainer: (rule, at, "") was this booking's
            # one alert for the rule at that time; the first detainer continues it, old id too.
            legacy = (finding.rule, finding.at, "")
            if legacy not in current and legacy in case.emitted:
                key, identity = legacy, ""
                current.add(key)
                state = case.emitted[key]
        if state is None:
            if finding.at >= watermark:
                due = finding.at + 1 if due is None else min(due, finding.at + 1)
                continue
            # A copy: the finding may be reused (the engine keeps a case's findings until the case
            # changes), and its details must not be what a consumer of the alert holds.
            details = dict(finding.details)
            emit(build_alert(policy, case, finding.rule, "firing", finding.at, details, identity))
            case.record_emitted(key, "firing")
            state = "firing"
        if state == "firing" and finding.resolved_at is not None:
            if finding.resolved_at >= watermark:
                due = (
                    min(due, finding.resolved_at + 1)
                    if due is not None
                    else finding.resolved_at + 1
                )
                continue
            details = _resolved_details(
                case, finding.rule, finding.details, finding.at, finding.resolved_at, zone_name
            )
            emit(build_alert(policy, case, finding.rule, "resolved", finding.at, details, identity))
            case.record_emitted(key, "resolved")
    for key, state in case.emitted.items():
        if state != "firing" or key in current:
            continue
        # Late evidence removed this finding; it was emitted, so it stays until custody ends or
        # (per-detainer rules) its detainer is lifted.
        rule, at, detainer_id = key
        ended = case.custody_end_at
        if detainer_id:
            lifted = _lifted(case, detainer_id)
            if lifted is not None and (ended is None or lifted < ended):
                ended = lifted
        if ended is None:
            continue
        ended = max(ended, at)
        if ended >= watermark:
            due = ended + 1 if due is None else min(due, ended + 1)
            continue
        gone: dict[str, Any] = {"superseded": True}
        if detainer_id:
            gone["detainer_id"] = detainer_id
        details = _resolved_details(case, rule, gone, at, ended, zone_name)
        emit(build_alert(policy, case, rule, "resolved", at, details, detainer_id))
        case.record_emitted(key, "resolved")  # a value changes, the dict does not resize
    return due
