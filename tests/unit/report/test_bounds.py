"""Definitely / possibly / within from the two bound logs of tests/fixtures/travis_county/bounds.csv
(its README has the cases). New on this branch: every test here fails on the starting main, which
had neither the travis-county import nor ``report-bounds``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main
from streams.importers.convert import convert
from streams.importers.reader import read_records
from streams.importers.travis_county import TRAVIS_COUNTY
from streams.policy.load import load_policy
from streams.report.bounds import BoundsReport, build_bounds

REPO = Path(__file__).resolve().parents[3]
BOUNDS = REPO / "tests" / "fixtures" / "travis_county" / "bounds.csv"
FORMS = ("I-247-2011", "I-247A-2017")


def d(n: int) -> str:
    return f"d{n}".rjust(20, "0")


def log(bound: str) -> list[bytes]:
    records = read_records(BOUNDS, TRAVIS_COUNTY.delimiter, TRAVIS_COUNTY.required_columns)
    events = convert(records, TRAVIS_COUNTY, bound=bound).events  # type: ignore[arg-type]
    return [orjson.dumps(e) for e in events]


@pytest.fixture(scope="module")
def report() -> BoundsReport:
    return build_bounds(log("lower"), log("upper"), load_policy(), FORMS)


def test_elapsed_form_classes(report: BoundsReport) -> None:
    """2017 form, charges ending Wednesday: released Monday or Tuesday is over whatever the hours;
    Friday only possibly (Thursday 00:00 to Friday 00:00 is 24 h); the same day or Thursday is
    within (Thursday: 48 h at most, exactly the limit, which is not over it)."""
    assert report.forms["I-247A-2017"].classes == {
        d(1): "exceeded_definitely",
        d(2): "exceeded_definitely",
        d(3): "within",
        d(4): "within",
        d(5): "exceeded_possibly",
        d(6): "without_eligibility",
    }


def test_weekend_edge_of_the_2011_form_is_respected(report: BoundsReport) -> None:
    """Lower bound of d1: eligible Thursday 00:00, 48 business hours end as Saturday begins, so
    the limit passes when Monday begins, exactly when the lower bound has the transfer: not
    definitely over (a count that ignored the edge would say it was). d2, a day later, is."""
    classes = report.forms["I-247-2011"].classes
    assert classes[d(1)] == "exceeded_possibly"
    assert classes[d(2)] == "exceeded_definitely"
    assert classes[d(5)] == "exceeded_possibly"
    assert classes[d(3)] == classes[d(4)] == "within"


def test_definite_cases_carry_the_range_of_hours_over(report: BoundsReport) -> None:
    cases = report.forms["I-247-2011"].definite
    assert [c.booking_id for c in cases] == [d(2)]
    assert cases[0].hours_over_lower == 24.0  # Monday 00:00 to Tuesday 00:00
    assert cases[0].hours_over_upper == 120.0  # Friday 00:00 to Wednesday 00:00
    assert cases[0].release_reason == "released_to_ice"
    assert report.forms["I-247A-2017"].definite[0].booking_id == d(2)  # longest first


def test_lower_never_exceeds_upper_and_replay_agrees(report: BoundsReport) -> None:
    for fb in report.forms.values():
        assert fb.inconsistent == []
        assert fb.lower.mismatches == fb.upper.mismatches == []
        assert fb.lower.exceeded_ids() <= fb.upper.exceeded_ids()


def test_bookings_by_release_reason(report: BoundsReport) -> None:
    assert report.with_reason("ice_detainer_time_limit_reached") == {
        d(5): {"I-247-2011": "exceeded_possibly", "I-247A-2017": "exceeded_possibly"}
    }


def test_cli_json_and_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = {}
    for bound in ("lower", "upper"):
        paths[bound] = tmp_path / f"{bound}.jsonl"
        args = ["import", "--format", "travis-county", str(BOUNDS), "--bound", bound]
        assert main([*args, "--out", str(paths[bound])]) == 0
    out = tmp_path / "bounds.json"
    args = ["report-bounds", str(paths["lower"]), str(paths["upper"]), "--json", str(out)]
    assert main([*args, "--reason", "ice_detainer_time_limit_reached"]) == 0
    text = capsys.readouterr().out
    assert "definitely over" in text and d(2) in text
    document: dict[str, Any] = orjson.loads(out.read_bytes())
    assert {
        form: {k: v[k] for k in ("exceeded_definitely", "exceeded_possibly", "within")}
        for form, v in document["forms"].items()
    } == {
        "I-247-2011": {"exceeded_definitely": 1, "exceeded_possibly": 2, "within": 2},
        "I-247A-2017": {"exceeded_definitely": 2, "exceeded_possibly": 1, "within": 2},
    }
    assert list(document["release_reasons"]["ice_detainer_time_limit_reached"]) == [d(5)]
    one = tmp_path / "one.json"
    args = ["report-bounds", str(paths["lower"]), str(paths["upper"]), "--json", str(one)]
    assert main([*args, "--form-override", "I-247-2011"]) == 0
    assert list(orjson.loads(one.read_bytes())["forms"]) == ["I-247-2011"]


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from streams.report.render_bounds import write_bounds_plot

    report = build_bounds(log("lower"), log("upper"), load_policy(), FORMS)
    path = tmp_path / "bounds.png"
    write_bounds_plot(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
