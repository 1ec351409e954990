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

from streams.contract.timestamps import HOUR, format
from streams.engine import calendar
from streams.engine.case import Case
from streams.engine.rules import Finding
from streams.policy.model import Policy

Alert = dict[str, Any]
Emit = Callable[[Alert], None]


def alert_id(rule: str, booking_id: str, occurred_at: int, jurisdiction: str = "") -> str:
    """Deterministic: the same violation gets the same id in every engine and every re-emission."""
    subject = booking_id or f"jurisdiction:{jurisdiction}"
    digest = hashlib.blake2b(f"{rule}\x1f{subject}\x1f{occurred_at}".encode(), digest_size=16)
    return digest.hexdigest()


def build_alert(
    policy: Policy, case: Case, rule: str, state: str, at: int, details: dict[str, Any]
) -> Alert:
    info = policy.rules[rule]
    zone = calendar.zone(policy.timezone_for(case.jurisdiction, case.timezone))
    return {
        "alert_id": alert_id(rule, case.booking_id, at),
        "rule": rule,
        "severity": info.severity,
        "state": state,
        "booking_id": case.booking_id,
        "jurisdiction": case.jurisdiction or "",
        "occurred_at": format(at, zone),
        "details": details,
        "policy": info.basis,
    }


def _resolved_details(
    case: Case, rule: str, details: dict[str, Any], at: int, ended: int, zone_name: str
) -> dict[str, Any]:
    out = dict(details)
    out["resolved_at"] = format(ended, calendar.zone(zone_name))
    if rule == "hold_limit_exceeded":
        out["hours_over"] = round(max(ended - at, 0) / HOUR, 2)
    if case.custody_end_at is not None and case.custody_end_at == ended:
        out["custody_end"] = case.custody_end_phase
    return out


def reconcile(
    case: Case, findings: Sequence[Finding], watermark: int, policy: Policy, emit: Emit
) -> int | None:
    """Emit what the watermark has reached; return the next time this case needs a look."""
    due: int | None = None
    current: set[tuple[str, int]] = set()
    zone_name = policy.timezone_for(case.jurisdiction, case.timezone)
    for finding in findings:
        key = (finding.rule, finding.at)
        if key in current:
            continue
        current.add(key)
        state = case.emitted.get(key)
        if state is None:
            if finding.at >= watermark:
                due = finding.at + 1 if due is None else min(due, finding.at + 1)
                continue
            # A copy: the finding may be reused (the engine keeps a case's findings until the case
            # changes), and its details must not be what a consumer of the alert holds.
            details = dict(finding.details)
            emit(build_alert(policy, case, finding.rule, "firing", finding.at, details))
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
            emit(build_alert(policy, case, finding.rule, "resolved", finding.at, details))
            case.record_emitted(key, "resolved")
    for key, state in case.emitted.items():
        if state != "firing" or key in current:
            continue
        # Late evidence removed this finding; it was emitted, so it stays until custody ends.
        ended = case.custody_end_at
        if ended is None:
            continue
        ended = max(ended, key[1])
        if ended >= watermark:
            due = ended + 1 if due is None else min(due, ended + 1)
            continue
        details = _resolved_details(case, key[0], {"superseded": True}, key[1], ended, zone_name)
        emit(build_alert(policy, case, key[0], "resolved", key[1], details))
        case.record_emitted(key, "resolved")  # a value changes, the dict does not resize
    return due
