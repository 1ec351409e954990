"""Policy file: overlay and monitor settings load, and every mistake is one clear line."""

from __future__ import annotations

import pytest

from streams.policy.load import PolicyError, default_policy_text, parse_policy


def test_defaults_of_the_monitor() -> None:
    monitor = parse_policy(default_policy_text()).monitor
    assert (monitor.window_days, monitor.baseline, monitor.margin, monitor.min_detainers) == (
        90,
        0.55,
        0.15,
        50,
    )
    assert monitor.low_priority_levels == {"L3", "none"}


def test_a_policy_without_the_new_sections_still_loads() -> None:
    text = default_policy_text()
    start = text.index("[rules.local_policy_violation]")
    end = text.index("# Jurisdictions: id")
    policy = parse_policy(text[:start] + text[end:])
    assert policy.rules["jurisdiction_low_priority_share"].severity == "warning"
    assert policy.monitor.window_days == 90


OVERLAY = '[jurisdictions."TX-Harris".local_policy]\nname = "X"\n'


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('window = "90d"', 'window = "36h"'), "whole number of days"),
        (("baseline = 0.55", "baseline = 55"), "fraction between 0 and 1"),
        (("min_detainers = 50", "min_detainers = 0"), "min_detainers must be"),
        (
            ('low_priority_levels = ["L3", "none"]', 'low_priority_levels = ["L4"]'),
            "low_priority_levels",
        ),
        (("decline_all = true", 'decline_all = "yes"'), "decline_all must be true or false"),
        (('max_hold = "24h"', 'max_hold = "soon"'), "bad duration"),
        (("effective_from = 2011-09-07", 'effective_from = "Sept 2011"'), "must be a date"),
        (('conviction_levels = ["L1"]', 'conviction_levels = ["L9"]'), "unknown value(s) L9"),
        (
            ('charge_categories = ["violent"]', 'charge_categories = ["violet"]'),
            "unknown value(s) violet",
        ),
        (
            ('summary = "Illustration of Ordinance', 'sumary = "Illustration of Ordinance'),
            "unknown setting(s) sumary",
        ),
        (
            ('disabled_rules = ["detainer_without_hit"', 'disabled_rules = ["no_such_rule"'),
            "no_such_rule",
        ),
    ],
)
def test_mistakes_are_one_clear_line(edit: tuple[str, str], message: str) -> None:
    text = default_policy_text()
    assert edit[0] in text, edit[0]
    with pytest.raises(PolicyError) as info:
        parse_policy(text.replace(edit[0], edit[1], 1), source="p.toml")
    assert message in str(info.value) and str(info.value).startswith("p.toml: ")
    assert "\n" not in str(info.value)


def test_an_overlay_that_says_nothing_is_an_error() -> None:
    with pytest.raises(PolicyError, match="says nothing"):
        parse_policy(default_policy_text() + OVERLAY)
