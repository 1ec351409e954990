"""The jurisdiction's own detainer policy, layered over the federal rules."""

from __future__ import annotations

from collections.abc import Iterator

from streams.engine import local_policy
from streams.engine.queries import booked_by
from streams.engine.rules.context import Context, Finding
from streams.engine.rules.registry import Rule, declare


def local_policy_violation(ctx: Context) -> Iterator[Finding]:
    """A hold that breaks the jurisdiction's own policy (``local_policy.py``), besides the federal rules.

    The overlay is the one of the booking's jurisdiction, known only from a booking event at or
    before the violation (so a late-arriving booking cannot change the verdict retroactively).
    """
    case = ctx.case
    overlay = ctx.policy.local_policy(case.jurisdiction)
    if overlay is None:
        return
    for breach in local_policy.breaches(case, overlay):
        if not booked_by(case, breach.at):
            continue
        details = dict(breach.details)
        details["hold_started_at"] = ctx.ts(details["hold_started_at"])
        details["eligible_at"] = ctx.ts(details["eligible_at"])
        details["timezone"] = ctx.zone_name
        yield Finding(
            "local_policy_violation", breach.at, breach.ended, details, breach.detainer.detainer_id
        )


declare(
    Rule(
        "local_policy_violation",
        "critical",
        "The jurisdiction's own detainer policy (see details.local_policy and details.clause).",
        settings=("jurisdictions.*.local_policy",),
        scope="detainer",
        evaluate=local_policy_violation,
    )
)
