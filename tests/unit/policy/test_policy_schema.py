"""schemas/policy.schema.json describes the whole policy file, agrees with the loader, and with
the loader's own checks refuses at load every value that used to fail (or mislead) mid-run."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from streams.contract.schemas import policy_validator, schema
from streams.engine.rules import RULES
from streams.policy import durations
from streams.policy.load import (
    KEYS,
    MAX_HOURS,
    PolicyError,
    _as_json,
    default_policy_text,
    load_policy,
    parse_policy,
)
from tests.support import reference_validator

POLICY = schema("policy")


def node(path: str) -> dict[str, Any]:
    """The schema of the table at ``path`` (KEYS notation: ``*`` any name, ``x[]`` an item)."""
    current = POLICY
    for part in filter(None, path.split(".")):
        if part == "*":
            if isinstance(current.get("additionalProperties"), dict):
                current = current["additionalProperties"]
            else:  # named tables of one shape (forms, rules): all alike
                shapes = list(current["properties"].values())
                assert all(shape == shapes[0] for shape in shapes), path
                current = shapes[0]
        elif part.endswith("[]"):
            current = current["properties"][part[:-2]]["items"]
        else:
            current = current["properties"][part]
        current = resolve(current)
    return current


def resolve(document: dict[str, Any]) -> dict[str, Any]:
    ref = document.get("$ref")
    return POLICY["$defs"][ref.rsplit("/", 1)[1]] if ref else document


def test_the_shipped_default_is_valid_for_both_validators() -> None:
    """On main there was no policy schema (the loader checked by hand, with gaps)."""
    document = _as_json(tomllib.loads(default_policy_text()))
    policy_validator()(document)
    reference_validator("policy").validate(document)


@pytest.mark.parametrize("path", sorted(KEYS))
def test_every_table_allows_exactly_the_keys_the_loader_reads(path: str) -> None:
    table = node(path)
    assert table["additionalProperties"] is False
    assert set(table["properties"]) == KEYS[path]


def test_the_schema_lists_of_rules_and_bounds_are_the_codes() -> None:
    """Not hand-restated unchecked: the schema's rules and bounds equal the loader's or model's.

    (Its enumerated values, levels, charges, forms, counting and severity, are checked with every
    other enum of the contract in tests/unit/contract/test_vocabulary.py.)
    """
    rules = node("rules")
    assert list(rules["properties"]) == list(RULES)
    assert set(rules["required"]) == {name for name, rule in RULES.items() if rule.required}
    assert POLICY["$defs"]["rule"]["enum"] == list(RULES)
    assert node("hold_limit.forms.*")["properties"]["hours"]["maximum"] == MAX_HOURS
    assert POLICY["$defs"]["duration"]["pattern"] == durations._PATTERN.pattern


def edited(old: str, new: str) -> str:
    text = default_policy_text()
    assert old in text, old
    return text.replace(old, new, 1)


BUSINESS = 'hours = 48\ncounting = "business"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Each of these loaded on main (true as 1 h, 48.9 cut to 48, 1e300 crashing mid-run, a
        # state the holidays package lacks crashing at the first business deadline there).
        (edited(BUSINESS, 'hours = true\ncounting = "business"'), "hours must be a whole number"),
        (edited(BUSINESS, 'hours = 48.9\ncounting = "business"'), "got 48.9"),
        (edited(BUSINESS, 'hours = 1e300\ncounting = "business"'), "from 1 to 8760"),
        (edited(BUSINESS, 'hours = 48.0\ncounting = "business"'), "whole number"),
        (edited("clock_quorum = 3", "clock_quorum = true"), "engine.clock_quorum must be"),
        (edited("min_detainers = 50", "min_detainers = 1e300"), "min_detainers must be"),
        (
            edited('subdivision = ""', 'subdivision = "jurisdiction"').replace(
                'state = "AZ"', 'state = "XX"'
            ),
            "jurisdiction AZ-Maricopa: state 'XX' is not a US holidays subdivision",
        ),
        (edited('allowed_lateness = "10m"', 'allowed_lateness = "999999d"'), "too long"),
        (edited('max_hold = "24h"', 'max_hold = "3651d"'), "at most 3650d"),
        (edited('deadline = "24h"', "deadline = 24"), "copy_service.deadline is a bad duration"),
        (
            edited("effective_from = 2014-01-01", "effective_from = 2014-01-01T00:00:00"),
            "effective_from must be a date",
        ),
        (edited("[rules.hold_limit_exceeded]", "[rules.hold_limit_exceded]"), "unknown setting"),
        (edited('default_timezone = "America/New_York"', "default_timezone = 5"), "IANA"),
    ],
)
def test_a_bad_value_fails_at_load_in_one_line(text: str, message: str) -> None:
    """On main the hours, clock_quorum, state and over-long duration cases loaded (and misled or
    crashed mid-run); the others are kept as guards of the one-line wording."""
    with pytest.raises(PolicyError) as error:
        parse_policy(text, source="p.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("p.toml: ") and "\n" not in str(error.value)


def test_the_default_loads_with_the_calendar_following_each_jurisdiction() -> None:
    policy = parse_policy(edited('subdivision = ""', 'subdivision = "jurisdiction"'))
    assert policy.holiday_subdivision("CA-Alameda") == "CA"


def test_a_non_utf8_policy_file_is_one_line(tmp_path: Path) -> None:
    """On main: UnicodeDecodeError escaped load_policy (a traceback)."""
    file = tmp_path / "latin1.toml"
    file.write_bytes(default_policy_text().replace("Holdwatch", "Holdwätch").encode("latin-1"))
    with pytest.raises(PolicyError, match=r"not UTF-8 text \(byte \d+ is 0xe4\)"):
        load_policy(file)


def test_a_policy_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    file = tmp_path / "bom.toml"
    file.write_bytes(b"\xef\xbb\xbf" + default_policy_text().encode())
    assert load_policy(file).forms["I-247-2011"].hours == 48


def test_a_huge_or_endless_policy_file_is_refused_without_reading_it_all() -> None:
    """On main ``--policy /dev/zero`` read until memory ran out."""
    with pytest.raises(PolicyError, match="larger than 16 MiB: not a policy file"):
        load_policy("/dev/zero")
