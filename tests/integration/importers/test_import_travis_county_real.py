"""``holdwatch import --format travis-county``, ``report-bounds``, ``replay`` and ``overlay-check``
over the real Travis County extract (skipped when it is absent).

The files live beside the repository: ``<repo>/../shared/data/travis-county/``. Fails on the
starting main (no travis-county format). Checks the accounting (every booking imported or
excluded by a named reason), that the lower bound never finds more than the upper one, and that
the report and a plain ``holdwatch replay`` agree booking by booking.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main
from streams.policy.load import load_policy
from streams.report.bounds import BoundsReport, build_bounds

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "travis-county"
HISTORY = DATA / "travis_detainer_history_2016-10-04.csv.gz"
POLICY_CHANGE = DATA / "travis_policy_change_2017-02.csv.gz"
FORMS = ("I-247-2011", "I-247A-2017")

pytestmark = pytest.mark.skipif(not HISTORY.is_file(), reason=f"{HISTORY} not present")


def run_cli(args: list[str]) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(args) == 0
    return err.getvalue()


def read_lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        return [line.rstrip(b"\n") for line in handle]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("travis")
    result: dict[str, Any] = {"dir": out}
    for bound in ("lower", "upper"):
        path = out / f"{bound}.jsonl.gz"
        args = ["import", "--format", "travis-county", str(HISTORY), "--bound", bound]
        result[f"{bound}_summary"] = run_cli([*args, "--out", str(path)])
        result[bound] = read_lines(path)
    return result


@pytest.fixture(scope="module")
def bounds(logs: dict[str, Any]) -> BoundsReport:
    return build_bounds(logs["lower"], logs["upper"], load_policy(), FORMS)


def test_every_booking_is_imported_or_excluded_by_reason(logs: dict[str, Any]) -> None:
    with gzip.open(HISTORY, "rt", encoding="utf-8") as handle:
        keys = {line.split("|", 1)[0] for line in list(handle)[1:]}
    assert len(keys) == 9533  # the extract's README
    for bound in ("lower", "upper"):
        summary = logs[f"{bound}_summary"]
        found = re.search(
            r"bookings in file: (\d+) = imported (\d+) \+ excluded (\d+) \+ unmappable (\d+)",
            summary,
        )
        assert found, summary
        seen, imported, excluded, unmappable = map(int, found.groups())
        assert seen == len(keys) == imported + excluded + unmappable
        listed = sum(int(n) for n in re.findall(r"^\s+(\d+)  excluded: ", summary, re.M))
        assert listed == excluded
        bookings = {orjson.loads(line)["booking_id"] for line in logs[bound]}
        assert len(bookings) == imported and bookings <= keys
        assert "rows read: 24839" in summary


def test_adjustments_are_counted_alike_under_both_bounds(logs: dict[str, Any]) -> None:
    """Clamps count recorded dates out of order (data), not the bound's resolution of them."""

    def clamps(summary: str) -> list[str]:
        return [line for line in summary.splitlines() if line.startswith("    ") and " -> " in line]

    assert clamps(logs["lower_summary"]) == clamps(logs["upper_summary"])
    assert clamps(logs["lower_summary"])


def test_events_carry_day_precision_and_their_bound(logs: dict[str, Any]) -> None:
    for bound in ("lower", "upper"):
        marks = {(e["precision"], e["bound"]) for e in map(orjson.loads, logs[bound])}
        assert marks == {("day", bound)}


def test_lower_bound_never_exceeds_the_upper_bound(bounds: BoundsReport) -> None:
    for form, fb in bounds.forms.items():
        assert fb.inconsistent == [], form
        assert fb.lower.exceeded_ids() <= fb.upper.exceeded_ids(), form
        upper = {r.booking_id: r for r in fb.upper.rows}
        for row in fb.lower.rows:  # per booking: held beyond eligibility, lower <= upper
            low, high = row.hours_beyond_eligible, upper[row.booking_id].hours_beyond_eligible
            assert (low is None) == (high is None)
            assert low is None or high is None or low <= high, row.booking_id
        assert fb.count("exceeded_definitely") <= len(fb.upper.exceeded_ids())
        print(form, {name: fb.count(name) for name in fb.totals() if name.startswith(("ex", "wi"))})


def test_report_and_replay_agree_booking_by_booking(
    logs: dict[str, Any], bounds: BoundsReport
) -> None:
    """``holdwatch replay`` of a lower log imported with ``--form F`` alerts exactly the bookings
    the bounds report calls definitely over under F (and the upper log the definite + possible)."""
    out: Path = logs["dir"]
    for form in FORMS:
        for bound, classes in (
            ("lower", {"exceeded_definitely"}),
            ("upper", {"exceeded_definitely", "exceeded_possibly"}),
        ):
            log = out / f"{bound}-{form}.jsonl.gz"
            args = ["import", "--format", "travis-county", str(HISTORY), "--bound", bound]
            run_cli([*args, "--form", form, "--out", str(log)])
            alerts = out / f"alerts-{bound}-{form}.jsonl"
            run_cli(["replay", str(log), "--alerts-out", str(alerts), "--quiet"])
            fired = {
                a["booking_id"]
                for a in map(orjson.loads, alerts.read_bytes().splitlines())
                if a["rule"] == "hold_limit_exceeded" and a["state"] == "firing"
            }
            expected = {b for b, c in bounds.forms[form].classes.items() if c in classes}
            assert fired == expected, (form, bound)
        assert bounds.forms[form].lower.mismatches == bounds.forms[form].upper.mismatches == []


def test_the_four_time_limit_reached_cases_are_classified(bounds: BoundsReport) -> None:
    cases = bounds.with_reason("ice_detainer_time_limit_reached")
    assert len(cases) == 4  # the extract's README
    for by_form in cases.values():
        assert set(by_form) == set(FORMS)
        assert all(
            c in {"exceeded_definitely", "exceeded_possibly", "within"} for c in by_form.values()
        )
    print(cases)


@pytest.mark.skipif(not POLICY_CHANGE.is_file(), reason=f"{POLICY_CHANGE} not present")
def test_overlay_check_counts_every_booking_of_the_three_reports(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["overlay-check", str(POLICY_CHANGE), "--json", str(out)]) == 0
    document = orjson.loads(out.read_bytes())
    assert document["by_report"] == {
        "accepted_2017-02-01": 50,
        "released_by_policy_R217": 149,
        "released_then_reinstated_with_ice_warrant": 31,
    }  # the extract's README
    assert sum(document["overlay_confusion"].values()) == 230
    assert document["problems"] == []
