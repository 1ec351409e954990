"""Local policy overlays: each clause kind, its effective date, and turning rules off."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from streams.policy.model import HonorClause, Jurisdiction, LocalPolicy, Policy
from tests.support import Events, firing, replay, resolved

RULE = "local_policy_violation"
ZONE = "America/Chicago"


def with_overlay(
    policy: Policy, overlay: LocalPolicy, disabled: frozenset[str] = frozenset()
) -> Policy:
    tables = dict(policy.jurisdictions)
    tables["XX-Test"] = Jurisdiction(ZONE, "IL", disabled, overlay)
    return replace(policy, jurisdictions=tables)


def hold(
    level: str = "L3", charges: list[tuple[str, str]] | None = None, held_hours: int = 30
) -> list[dict[str, Any]]:
    ev = Events("bk-local", ZONE)
    end_hour = 10 + held_hours
    day, hour = 5 + end_hour // 24, end_hour % 24
    return [
        ev.booking(
            "2018-03-05 08:00", jurisdiction="XX-Test", charges=charges or [("misdemeanor", "drug")]
        ),
        ev.hit("2018-03-05 09:00", level=level),
        ev.detainer("2018-03-05 09:30", form="I-247A-2017"),
        ev.detainer("2018-03-05 09:45", action="served"),
        ev.release("2018-03-05 10:00", "eligible"),
        ev.release(f"2018-03-{day:02d} {hour:02d}:00", "transferred_to_ice"),
    ]


def test_a_shorter_maximum_hold(policy: Policy) -> None:
    p = with_overlay(
        policy, LocalPolicy("Local 24h", adopted="2011-10-18", max_hold=24 * 3600 * 10**6)
    )
    alerts, _, _ = replay(p, hold(held_hours=30))
    [fired] = firing(alerts, RULE)
    assert fired["severity"] == "critical"
    assert fired["occurred_at"] == "2018-03-06T10:00:00-06:00"
    assert fired["details"]["clause"] == "max_hold" and fired["details"]["max_hold_hours"] == 24
    assert fired["details"]["local_policy"] == "Local 24h"
    [ended] = resolved(alerts, RULE)
    assert ended["details"]["resolved_at"] == "2018-03-06T16:00:00-06:00"
    assert firing(alerts, "hold_limit_exceeded") == []  # 30 h is within the federal 48
    quick, _, _ = replay(p, hold(held_hours=24))  # custody ending exactly at the limit is within it
    assert firing(quick, RULE) == []


TRUST = LocalPolicy(
    "TRUST-style",
    honor_when=(
        HonorClause(conviction_levels=frozenset({"L1", "L2"})),
        HonorClause(
            charge_severities=frozenset({"felony"}), charge_categories=frozenset({"violent"})
        ),
    ),
)


def test_honor_only_when_criteria_hold(policy: Policy) -> None:
    p = with_overlay(policy, TRUST)
    alerts, _, _ = replay(p, hold(level="L3"))
    [fired] = firing(alerts, RULE)
    assert fired["occurred_at"] == "2018-03-05T10:00:00-06:00"  # the hold started at eligibility
    assert (
        fired["details"]["clause"] == "honor_when" and fired["details"]["conviction_level"] == "L3"
    )
    assert "conviction level L1/L2 or a felony violent charge" in fired["details"]["clause_text"]
    for ok in (hold(level="L2"), hold(level="none", charges=[("felony", "violent")])):
        honored, _, _ = replay(p, ok)
        assert firing(honored, RULE) == []
    felony_drug, _, _ = replay(p, hold(level="none", charges=[("felony", "drug")]))
    assert len(firing(felony_drug, RULE)) == 1


def test_a_hit_after_the_hold_started_does_not_make_it_honorable(policy: Policy) -> None:
    events = hold(level="L3")
    events[1] = Events("bk-local", ZONE).hit("2018-03-05 11:00", level="L1")  # after eligibility
    alerts, _, _ = replay(with_overlay(policy, TRUST), events)
    [fired] = firing(alerts, RULE)
    assert fired["details"]["conviction_level"] is None


def test_decline_all_detainer_holds(policy: Policy) -> None:
    p = with_overlay(policy, LocalPolicy("Decline", decline_all=True))
    alerts, _, _ = replay(p, hold(level="L1", held_hours=2))
    [fired] = firing(alerts, RULE)
    assert fired["details"]["clause"] == "decline_all"
    assert fired["occurred_at"] == "2018-03-05T10:00:00-06:00"
    released = hold(level="L1")
    released[-1] = Events("bk-local", ZONE).release("2018-03-05 10:00", "released")
    at_once, _, _ = replay(p, released)
    assert firing(at_once, RULE) == []
    graced = with_overlay(policy, LocalPolicy("Decline", decline_all=True, grace=3 * 3600 * 10**6))
    within, _, _ = replay(graced, hold(level="L1", held_hours=2))
    assert firing(within, RULE) == []


def test_the_earliest_clause_is_reported_once(policy: Policy) -> None:
    both = LocalPolicy("Both", decline_all=True, max_hold=24 * 3600 * 10**6)
    alerts, _, _ = replay(with_overlay(policy, both), hold(held_hours=30))
    assert [a["details"]["clause"] for a in firing(alerts, RULE)] == ["decline_all"]


def test_effective_from_leaves_earlier_holds_alone(policy: Policy) -> None:
    from streams.contract import timestamps

    later = LocalPolicy(
        "Later", decline_all=True, effective_from=timestamps.parse("2018-03-06T00:00:00-06:00")
    )
    alerts, _, _ = replay(with_overlay(policy, later), hold())
    assert firing(alerts, RULE) == []


def test_which_rules_apply_at_all(policy: Policy) -> None:
    overlay = LocalPolicy("Decline", decline_all=True)
    off = with_overlay(
        policy, overlay, frozenset({RULE, "detainer_copy_not_served", "detainer_without_hit"})
    )
    alerts, _, _ = replay(off, hold())
    assert firing(alerts, RULE) == []
    on, _, _ = replay(with_overlay(policy, overlay), hold())
    assert len(firing(on, RULE)) == 1


def test_the_shipped_illustrations(policy: Policy) -> None:
    cook = policy.jurisdictions["IL-Cook"].local_policy
    assert (
        cook is not None and cook.decline_all and cook.illustration and cook.adopted == "2011-09-07"
    )
    clara = policy.jurisdictions["CA-SantaClara"].local_policy
    assert (
        clara is not None and clara.max_hold == 24 * 3600 * 10**6 and clara.adopted == "2011-10-18"
    )
    for name in ("CA-Alameda", "CA-LosAngeles", "CA-SanFrancisco"):
        trust = policy.jurisdictions[name].local_policy
        assert trust is not None and trust.honor_when and "TRUST" in trust.name
    ev = Events("bk-cook", "America/Chicago")
    events = [
        ev.booking("2011-10-03 08:00", jurisdiction="IL-Cook"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00"),
        ev.detainer("2011-10-03 10:30", action="served"),
        ev.release("2011-10-04 10:00", "eligible"),
        ev.release("2011-10-04 15:00", "transferred_to_ice"),
    ]
    alerts, _, _ = replay(policy, events)
    [fired] = firing(alerts, RULE)
    assert fired["details"]["local_policy"] == "Cook County Ordinance 11-O-73"
