"""``holdwatch report`` end to end: the console script on the hand-made log of
tests/unit/report/conftest.py, and the exit codes of unusable invocations."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.unit.report.conftest import UNTIL, handmade_events

HOLDWATCH = shutil.which("holdwatch") or f"{Path(sys.executable).parent}/holdwatch"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOLDWATCH, "report", *args],
        input=None if stdin is None else stdin.decode(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "handmade.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for event in handmade_events():
            out.write(orjson.dumps(event) + b"\n")
    return path


def test_report_with_csv_and_json(log: Path, tmp_path: Path) -> None:
    rows, totals = tmp_path / "rows.csv", tmp_path / "totals.json"
    done = run(str(log), "--until", UNTIL, "--csv", str(rows), "--json", str(totals))
    assert done.returncode == 0, done.stderr
    assert "Holdwatch hold report" in done.stdout
    assert "exceeded the hold limit" in done.stdout
    data = json.loads(totals.read_text())
    assert data["exceeded"] == 2
    assert {k: v["exceeded"] for k, v in data["exceeded_by_form"].items()} == {
        "I-247-2011": 1,
        "I-247A-2017": 3,
    }
    with rows.open() as handle:
        exceeded = [r["booking_id"] for r in csv.DictReader(handle) if r["exceeded"] == "1"]
    assert exceeded == ["bk-D", "bk-E"]


def test_form_override_and_stdin(log: Path, tmp_path: Path) -> None:
    totals = tmp_path / "totals.json"
    raw = gzip.decompress(log.read_bytes())
    done = run(
        "-", "--until", UNTIL, "--form-override", "I-247A-2017", "--json", str(totals), stdin=raw
    )
    assert done.returncode == 0, done.stderr
    assert "every detainer read as I-247A-2017" in done.stdout
    data = json.loads(totals.read_text())
    assert (data["form_override"], data["exceeded"]) == ("I-247A-2017", 3)


def test_plot(log: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "holds.png"
    done = run(str(log), "--plot", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing.jsonl"], "log file not found"),
        (["{log}", "--csv", "{tmp}/no/such/dir/rows.csv"], "directory does not exist"),
        (["{log}", "--policy", "{tmp}/missing.toml"], "cannot read policy file"),
    ],
)
def test_unusable_invocations_exit_2(
    log: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    done = run(*(a.format(tmp=tmp_path, log=log) for a in args))
    assert done.returncode == 2
    assert done.stderr.startswith("holdwatch report: error:")
    assert message in done.stderr
    assert done.stdout == ""


def test_bad_flag_values_exit_2(log: Path) -> None:
    assert run(str(log), "--form-override", "I-999").returncode == 2
    assert run(str(log), "--until", "2011-10-21 09:00").returncode == 2  # no offset
