"""The calibration constants add up to the published national figures."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pytest import approx

from streams.generate import calibration as cal

POLICY = Path(__file__).resolve().parents[3] / "streams" / "policy" / "default.toml"


def test_jurisdictions_match_the_default_policy_table_except_the_reserved() -> None:
    """The reserved ones (WA-Pierce, TX-Travis: the real extracts') are the policy's, never generated."""
    table = tomllib.loads(POLICY.read_text())["jurisdictions"]
    assert set(table) >= cal.RESERVED_JURISDICTIONS
    expected = {
        name: spec["timezone"]
        for name, spec in table.items()
        if name not in cal.RESERVED_JURISDICTIONS
    }
    assert {name: spec[0] for name, spec in cal.JURISDICTIONS.items()} == expected


def test_national_hit_rate_is_the_published_6_2_percent() -> None:
    volume = {name: spec[1] for name, spec in cal.JURISDICTIONS.items()}
    total = sum(volume.values())
    national = sum(volume[j] * cal.JURISDICTION_HIT_RATE[j] for j in volume) / total
    assert national == approx(cal.HIT_RATE) == approx(0.0623, abs=1e-4)


def test_national_level_mix_is_the_published_fy2011_mix() -> None:
    volume = {name: spec[1] for name, spec in cal.JURISDICTIONS.items()}
    hits = {j: volume[j] * cal.JURISDICTION_HIT_RATE[j] for j in volume}
    for level, share in cal.LEVEL_MIX_NATIONAL.items():
        mixed = sum(hits[j] * cal.JURISDICTION_LEVEL_MIX[j][level] for j in hits)
        assert mixed / sum(hits.values()) == approx(share)


def test_skewed_jurisdictions_have_their_published_low_priority_share() -> None:
    for name, share in {
        "AZ-Maricopa": 0.60,
        "CA-Alameda": 0.64,
        "GA-Gwinnett": 0.66,
        "LA-JeffersonParish": 0.87,
    }.items():
        mix = cal.JURISDICTION_LEVEL_MIX[name]
        assert mix["L3"] + mix["none"] == approx(share)
        assert sum(mix.values()) == approx(1.0)
        assert cal.JURISDICTION_HIT_RATE[name] > cal.HIT_RATE


def test_citizen_statuses_add_up_to_the_published_share() -> None:
    weights = cal.HIT_STATUS_WEIGHTS
    assert sum(weights.values()) == approx(1.0)
    assert weights["us_citizen"] + weights["naturalized_citizen"] == approx(cal.CITIZEN_SHARE)
