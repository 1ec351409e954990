"""The policy file: the shipped default loads, and every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.contract.timestamps import HOUR, MINUTE
from streams.policy.durations import parse_duration
from streams.policy.load import PolicyError, default_policy_text, load_policy, parse_policy


def test_the_default_policy_holds_the_documented_settings() -> None:
    policy = load_policy()
    assert policy.allowed_lateness == 10 * MINUTE
    assert policy.copy_service_deadline == 24 * HOUR
    assert policy.forms["I-247-2011"].counting == "business"
    assert policy.forms["I-247A-2017"].counting == "elapsed"
    assert policy.jurisdictions["AZ-Maricopa"].timezone == "America/Phoenix"
    assert policy.non_priority.charge_categories == {"traffic"}


def test_a_file_replaces_the_default(tmp_path: Path) -> None:
    file = tmp_path / "p.toml"
    file.write_text(
        default_policy_text().replace('allowed_lateness = "10m"', 'allowed_lateness = "1h"')
    )
    assert load_policy(file).allowed_lateness == HOUR


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('allowed_lateness = "10m"', 'allowed_lateness = "ten"'), "bad duration"),
        (('timezone = "America/Phoenix"', 'timezone = "Mars/Olympus"'), "unknown IANA time zone"),
        (('counting = "business"', 'counting = "lunar"'), "counting must be"),
        (('country = "US"', 'country = "XX"'), "not a holidays calendar"),
        (("[copy_service]", "[copy_servce]"), "unknown setting"),
        (('severity = "critical"', 'severity = "urgent"'), "severity must be"),
    ],
)
def test_mistakes_are_reported_in_one_line(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(default_policy_text().replace(*edit, 1))
    with pytest.raises(PolicyError) as error:
        load_policy(file)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_not_toml_and_missing_file_are_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy("[engine", source="x")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "micros"),
    [("30s", 30_000_000), ("10m", 600_000_000), ("1.5h", 5_400_000_000), ("7d", 604_800_000_000)],
)
def test_durations(text: str, micros: int) -> None:
    assert parse_duration(text) == micros
