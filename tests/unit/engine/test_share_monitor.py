"""The rolling share monitor: window arithmetic in local days, late facts, alert lifecycle."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from streams.contract import timestamps
from streams.engine.share_monitor import DetainerFact, ShareMonitor
from streams.policy.model import Policy
from tests.support import local

ZONE = "America/New_York"  # GA-Gwinnett's zone in the default table
J = "GA-Gwinnett"


def t(text: str, zone: str = ZONE) -> int:
    return timestamps.parse(local(text, zone))


def small(policy: Policy, **monitor: object) -> Policy:
    settings = {"window_days": 3, "min_detainers": 4, "baseline": 0.5, "margin": 0.1} | monitor
    return replace(policy, monitor=replace(policy.monitor, **settings))  # type: ignore[arg-type]


_ids = iter(range(10**9))


def fact(
    at: str, level: str | None = "L3", known: str | None = None, juris: str = J, zone: str = ZONE
) -> DetainerFact:
    issued = t(at, zone)
    return DetainerFact(
        f"bk{next(_ids)}\x1fdt", juris, issued, t(known, zone) if known else issued, level
    )


def run(monitor: ShareMonitor, facts: list[DetainerFact], until: str) -> list[dict[str, Any]]:
    for f in facts:
        monitor.add(f)
    return monitor.advance_to(t(until))


def test_fires_at_the_first_local_midnight_the_share_is_over_with_enough_detainers(
    policy: Policy,
) -> None:
    monitor = ShareMonitor(small(policy))
    facts = [fact(f"2011-11-0{d} 12:00") for d in (1, 2, 3)] + [fact("2011-11-03 23:59:59")]
    assert run(monitor, facts[:3], "2011-11-03 23:00") == []
    [alert] = run(monitor, facts[3:], "2011-11-04 00:00:01")
    assert alert["rule"] == "jurisdiction_low_priority_share" and alert["state"] == "firing"
    assert (
        alert["booking_id"] == "" and alert["jurisdiction"] == J and alert["severity"] == "warning"
    )
    assert alert["occurred_at"] == "2011-11-04T00:00:00-04:00"
    d = alert["details"]
    assert (d["share"], d["count"], d["low_priority"], d["window_days"]) == (1.0, 4, 4, 3)
    assert (d["window_start"], d["window_end"]) == (
        "2011-11-01T00:00:00-04:00",
        "2011-11-04T00:00:00-04:00",
    )


def test_the_window_boundaries_are_local_midnights_start_included_end_excluded(
    policy: Policy,
) -> None:
    monitor = ShareMonitor(small(policy))
    inside = [fact("2011-11-01 00:00")] + [fact("2011-11-03 23:59:59.999999")] * 1
    inside += [fact("2011-11-02 10:00"), fact("2011-11-02 11:00")]
    at_end = fact("2011-11-04 00:00")  # belongs to the next evaluation
    [alert] = run(monitor, [*inside, at_end], "2011-11-04 00:00")
    assert alert["details"]["count"] == 4
    # On 5 Nov the 1 Nov detainer has left the window: 3 + the 4 Nov one = 4, still over.
    assert monitor.advance_to(t("2011-11-05 00:00")) == []


def test_too_few_detainers_never_fire(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    assert run(monitor, [fact("2011-11-01 10:00") for _ in range(3)], "2011-11-10 00:00") == []


def test_the_watermark_must_reach_the_midnight(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    facts = [fact("2011-11-03 10:00") for _ in range(4)]
    assert run(monitor, facts, "2011-11-03 23:59:59.999999") == []
    assert len(monitor.advance_to(t("2011-11-04 00:00"))) == 1


def test_resolves_when_the_share_falls_back_and_when_the_window_empties(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    run(monitor, [fact("2011-11-01 10:00") for _ in range(4)], "2011-11-02 00:00")
    more = [fact("2011-11-02 10:00", level="L1") for _ in range(4)]  # 4/8 = 50% < 60%
    [ended] = run(monitor, more, "2011-11-03 00:00")
    assert ended["state"] == "resolved"
    assert ended["occurred_at"] == "2011-11-02T00:00:00-04:00"
    assert ended["details"]["resolved_at"] == "2011-11-03T00:00:00-04:00"
    assert ended["details"]["resolved_share"] == 0.5

    again = ShareMonitor(small(policy))
    run(again, [fact("2011-11-01 10:00") for _ in range(4)], "2011-11-02 00:00")
    # Empty days: nothing new for a week; the window (3 days) drains on 5 Nov.
    [drained] = again.advance_to(t("2011-11-09 00:00"))
    assert (
        drained["state"] == "resolved"
        and drained["details"]["resolved_at"] == "2011-11-05T00:00:00-04:00"
    )
    assert drained["details"]["resolved_count"] == 0


def test_threshold_is_strictly_above_baseline_plus_margin(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy, baseline=0.5, margin=0.25))  # 75%
    facts = [fact("2011-11-01 10:00") for _ in range(3)] + [fact("2011-11-01 11:00", level="L2")]
    assert run(monitor, facts, "2011-11-02 00:00") == []  # exactly 75%


def test_detainers_without_a_hit_are_reported_not_shared(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    facts = [fact("2011-11-01 10:00") for _ in range(4)] + [
        fact("2011-11-01 10:00", level=None) for _ in range(5)
    ]
    [alert] = run(monitor, facts, "2011-11-02 00:00")
    assert (
        alert["details"]["count"],
        alert["details"]["without_hit"],
        alert["details"]["share"],
    ) == (4, 5, 1.0)


def test_a_late_fact_counts_only_from_the_midnight_after_it_was_known(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    on_time = [fact("2011-11-01 10:00") for _ in range(3)]
    late = fact(
        "2011-11-01 11:00", known="2011-11-02 00:00"
    )  # known exactly at the midnight: too late for it
    assert run(monitor, [*on_time, late], "2011-11-02 00:00") == []
    [alert] = monitor.advance_to(t("2011-11-03 00:00"))
    assert alert["occurred_at"] == "2011-11-03T00:00:00-04:00" and alert["details"]["count"] == 4


def test_a_fact_known_after_its_issue_day_left_the_window_never_counts(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy))
    assert monitor.add(fact("2011-11-01 10:00", known="2011-11-04 00:00")) is False
    assert monitor.stats["too_late"] == 1


def test_order_of_facts_does_not_matter_and_duplicates_change_nothing(policy: Policy) -> None:
    facts = [
        fact(f"2011-11-0{1 + i % 5} {10 + i % 9}:00", level=("L3", "L1", "none")[i % 3])
        for i in range(30)
    ]
    first = ShareMonitor(small(policy, min_detainers=3))
    second = ShareMonitor(small(policy, min_detainers=3))
    a = run(first, facts, "2011-11-20 00:00")
    b = run(second, list(reversed(facts)) + facts[:7], "2011-11-20 00:00")
    assert a == b and a
    assert second.stats["duplicates"] == 7


def test_days_follow_the_jurisdiction_zone_across_dst(policy: Policy) -> None:
    monitor = ShareMonitor(small(policy, window_days=1, min_detainers=1))
    # 6 Nov 2011 is 25 hours long in New York; a detainer at 23:30 local is still that day.
    [alert] = run(monitor, [fact("2011-11-06 23:30")], "2011-11-07 00:00")
    assert alert["occurred_at"] == "2011-11-07T00:00:00-05:00"
    assert alert["details"]["window_start"] == "2011-11-06T00:00:00-04:00"


def test_disabled_jurisdictions_and_unknown_ones(policy: Policy) -> None:
    from streams.policy.model import Jurisdiction

    tables = dict(policy.jurisdictions)
    tables[J] = Jurisdiction(ZONE, "GA", frozenset({"jurisdiction_low_priority_share"}))
    monitor = ShareMonitor(replace(small(policy), jurisdictions=tables))
    assert run(monitor, [fact("2011-11-01 10:00") for _ in range(5)], "2011-11-03 00:00") == []
    assert monitor.stats["disabled"] == 5
    other = ShareMonitor(small(policy))
    fired = run(
        other, [fact("2011-11-01 10:00", juris="XX-Nowhere") for _ in range(5)], "2011-11-03 00:00"
    )
    assert fired[0]["details"]["timezone"] == policy.default_timezone


@pytest.mark.parametrize("chunk", [1, 3])
def test_advancing_in_steps_gives_the_same_alerts(policy: Policy, chunk: int) -> None:
    facts = [
        fact(
            f"2011-11-{1 + i // 4:02d} {8 + i % 12:02d}:00", level=("L3", "none", "L1")[(i * 7) % 3]
        )
        for i in range(60)
    ]
    whole = ShareMonitor(small(policy, min_detainers=3))
    expected = run(whole, facts, "2011-12-01 00:00")
    stepped = ShareMonitor(small(policy, min_detainers=3))
    got: list[dict[str, Any]] = []
    for i in range(0, len(facts), chunk):
        for f in facts[i : i + chunk]:
            stepped.add(f)
        got += stepped.advance_to(max(f.known_at for f in facts[: i + chunk]))
    got += stepped.advance_to(t("2011-12-01 00:00"))
    assert got == expected and expected
