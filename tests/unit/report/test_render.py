"""Text, CSV and JSON of the hand-made log (see conftest.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from streams.policy.model import Policy
from streams.report.holds import HoldReport, build_report
from streams.report.render import CSV_FIELDS, print_report, write_csv, write_json


@pytest.fixture
def report(policy: Policy, handmade: list[bytes], until: int) -> HoldReport:
    return build_report(handmade, policy, until=until)


def text_of(report: HoldReport, top: int = 25) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    print_report(report, "handmade.jsonl", console, top)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def test_csv_rows(report: HoldReport) -> None:
    out = io.StringIO()
    write_csv(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(CSV_FIELDS)
    by_id = {r["booking_id"]: r for r in rows}
    assert list(by_id) == ["bk-A", "bk-B", "bk-C", "bk-D", "bk-E", "bk-F", "bk-H"]
    pick = (
        "eligible_at",
        "custody_end_at",
        "custody_end",
        "still_held",
        "form",
        "counting",
        "deadline",
        "hours_beyond_eligibility",
        "exceeded",
        "exceeded_at",
        "hours_over",
        "stay_days",
    )
    assert {k: by_id["bk-D"][k] for k in pick} == {
        "eligible_at": "2011-10-14T12:00:00-04:00",
        "custody_end_at": "2011-10-17T12:00:00-04:00",
        "custody_end": "transferred_to_ice",
        "still_held": "0",
        "form": "I-247A-2017",
        "counting": "elapsed",
        "deadline": "2011-10-16T12:00:00-04:00",
        "hours_beyond_eligibility": "72.00",
        "exceeded": "1",
        "exceeded_at": "2011-10-16T12:00:00-04:00",
        "hours_over": "24.00",
        "stay_days": "4.00",
    }
    assert {k: by_id["bk-E"][k] for k in pick} == {
        "eligible_at": "2011-10-17T09:00:00-04:00",
        "custody_end_at": "",
        "custody_end": "",
        "still_held": "1",
        "form": "I-247-2011",
        "counting": "business",
        "deadline": "2011-10-19T09:00:00-04:00",
        "hours_beyond_eligibility": "96.00",
        "exceeded": "1",
        "exceeded_at": "2011-10-19T09:00:00-04:00",
        "hours_over": "48.00",
        "stay_days": "",
    }
    assert (
        by_id["bk-F"]["eligible_at"]
        == by_id["bk-F"]["deadline"]
        == by_id["bk-F"]["limit_hours"]
        == ""
    )
    assert [r["exceeded"] for r in rows] == ["0", "0", "0", "1", "1", "0", "0"]


def test_json_totals(report: HoldReport, tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    write_json(report, "handmade.jsonl", path)
    totals = json.loads(path.read_text())
    assert totals["log"] == "handmade.jsonl"
    assert totals["as_of"] == "2011-10-21T13:00:00+00:00"
    assert totals["exceeded"] == 2
    assert totals["exceeded_by_form"]["I-247-2011"]["exceeded"] == 1
    assert totals["exceeded_by_form"]["I-247A-2017"]["exceeded"] == 3
    assert totals["stay_days"]["median"] == 3.5
    assert totals["replay"] == {
        "events_read": 30,
        "accepted": 30,
        "duplicates": 0,
        "dead_letters": 0,
    }


def test_text(report: HoldReport) -> None:
    text = text_of(report)
    assert "as of 2011-10-21 09:00 America/New_York" in text
    assert "detainer forms as recorded in the log" in text
    lines = text.splitlines()
    (d_line,) = [line for line in lines if line.lstrip().startswith("bk-D")]
    assert "2011-10-14 12:00" in d_line and "72.0 h" in d_line and "yes +24.0 h" in d_line
    assert "ICE" in d_line
    (e_line,) = [line for line in lines if line.lstrip().startswith("bk-E")]
    assert "still held" in e_line and "yes +48.0 h" in e_line
    (b_line,) = [line for line in lines if line.lstrip().startswith("bk-B")]
    assert b_line.rstrip().endswith("no")
    assert "bk-F" not in text  # no eligibility: counted, not listed
    assert "exceeded the hold limit" in text
    # histogram rows: label, count, bar
    (bucket,) = [line for line in lines if line.startswith("72 h–1 w")]
    assert bucket.split()[3] == "4" and "█" * 40 in bucket
    assert "report ≠ replay" not in text


def test_text_top_limits_rows(report: HoldReport) -> None:
    text = text_of(report, top=2)
    assert "the 2 longest beyond eligibility, of 6" in text
    assert "4 more: --top 0 shows all" in text
    assert "bk-E" in text and "bk-C" in text and "bk-A" not in text


def test_text_with_override(policy: Policy, handmade: list[bytes], until: int) -> None:
    report = build_report(handmade, policy, form_override="I-247A-2017", until=until)
    text = text_of(report)
    assert "every detainer read as I-247A-2017" in text
    assert "limit 48 elapsed hours" in text
