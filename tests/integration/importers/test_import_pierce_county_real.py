"""``holdwatch import`` over the real Pierce County extract (skipped when it is absent).

The file lives beside the repository: ``<repo>/../shared/data/pierce-county/allholds.csv.gz``.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import io
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main

REPO = Path(__file__).resolve().parents[3]
REAL = REPO.parent / "shared" / "data" / "pierce-county" / "allholds.csv.gz"

pytestmark = pytest.mark.skipif(not REAL.is_file(), reason=f"{REAL} not present")


def _contract_validators() -> Any:
    """The validators of tests/unit/importers/conftest.py (one definition of the contract check)."""
    path = REPO / "tests" / "unit" / "importers" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_importer_test_helpers", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.contract_validators(), module.RFC3339


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:
    out = tmp_path_factory.mktemp("pierce") / "pierce.jsonl.gz"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["import", "--format", "pierce-county", str(REAL), "--out", str(out)])
    assert code == 0
    with gzip.open(out, "rb") as handle:
        events = [orjson.loads(line) for line in handle]
    return events, err.getvalue()


def test_counts(imported: tuple[list[dict[str, Any]], str]) -> None:
    events, report = imported
    kinds = Counter((e["type"], e.get("action") or e.get("phase")) for e in events)
    assert kinds[("booking", None)] == 204
    assert kinds[("detainer", "issued")] == 204
    assert kinds[("detainer", "lifted")] == 11
    assert kinds[("release", "eligible")] == 197
    assert kinds[("release", "transferred_to_ice")] == 125
    assert kinds[("release", "released")] == 79
    assert "rows read: 691, mapped: 691, unmappable: 0" in report
    assert "transfers to ICE: 125" in report
    assert "7  no basis of custody besides the immigration hold" in report


def test_sorted_unique_and_valid(imported: tuple[list[dict[str, Any]], str]) -> None:
    events, _ = imported
    instants = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert instants == sorted(instants)
    assert len({e["event_id"] for e in events}) == len(events)
    validators, rfc3339 = _contract_validators()
    for event in events:
        validators[event["type"]].validate(event)
        assert rfc3339.fullmatch(event["occurred_at"])


def test_every_booking_is_complete(imported: tuple[list[dict[str, Any]], str]) -> None:
    events, _ = imported
    per_booking: dict[str, list[str]] = {}
    for e in events:
        per_booking.setdefault(e["booking_id"], []).append(e["event_id"].rsplit("-", 1)[1])
    for booking_id, suffixes in per_booking.items():
        assert suffixes[:2] == ["booking", "detainer"], booking_id
        assert suffixes[-1] == "release", booking_id
