"""The TX-Travis overlay against the jail's February 2017 decisions, on the hand-made
tests/fixtures/travis_county/policy_change.csv (its README has the cases). Fails on the starting
main: no TX-Travis overlay, no overlay check."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli.main import main
from streams.policy.load import load_policy
from streams.policy.model import LocalPolicy
from streams.report.overlay_check import check, overlay_honours, published_honours, read_decisions

REPO = Path(__file__).resolve().parents[3]
FILE = REPO / "tests" / "fixtures" / "travis_county" / "policy_change.csv"


def p(n: int) -> str:
    return f"p{n}".rjust(20, "0")


def overlay() -> LocalPolicy:
    local = load_policy().jurisdictions["TX-Travis"].local_policy
    assert local is not None
    return local


def test_jail_decisions_and_charges_as_the_importer_maps_them() -> None:
    decisions, problems = read_decisions(FILE)
    assert [(d.booking_key, d.jail) for d in decisions] == [
        (p(1), "kept"),
        (p(2), "kept"),
        (p(3), "dropped"),
        (p(4), "dropped"),
        (p(5), "dropped"),
    ]
    assert decisions[4].reinstated
    assert [(c.code, c.severity, c.category) for c in decisions[1].charges] == [
        ("DRIVING WHILE INTOXICATED 3RD OR MORE", "felony", "traffic")
    ]  # the detainer row is not a charge
    assert problems == ["line 12: 10 fields, header has 18"]


def test_confusion_table_and_disagreements() -> None:
    decisions, _ = read_decisions(FILE)
    result = check(decisions, overlay())
    assert result.confusion(result.overlay_says) == {
        "kept/honoured": 1,
        "kept/declined": 1,
        "dropped/honoured": 1,
        "dropped/declined": 2,
    }
    assert [d.booking_key for d in result.disagreements(result.overlay_says)] == [p(2), p(3)]
    # The published list (named offences) declines the aggravated robbery the overlay honours.
    assert result.confusion(result.published_says)["dropped/honoured"] == 0
    assert result.agreement(result.overlay_says) == pytest.approx(0.6)


def test_overlay_language_is_severity_and_category_only() -> None:
    """What it cannot express: a named offence. Any violent felony is honoured."""
    decisions, _ = read_decisions(FILE)
    by_key = {d.booking_key: d for d in decisions}
    assert overlay_honours(overlay(), by_key[p(3)].charges)  # aggravated robbery
    assert not published_honours(by_key[p(3)].charges)
    assert published_honours(by_key[p(1)].charges)  # murder


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "check.json"
    assert main(["overlay-check", str(FILE), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "5 bookings" in text and p(3) in text and "[felony/violent]" in text
    document = orjson.loads(out.read_bytes())
    assert document["overlay_confusion"]["dropped/honoured"] == 1
    assert document["problems"] == ["line 12: 10 fields, header has 18"]
