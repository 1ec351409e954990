"""A finding's details (formatted timestamps, evidence) are built only for an alert emitted.

The rules run on every event applied to a case with a detainer; most of their findings are not
yet due (the watermark has not reached them) and are thrown away at the next event. On the
starting main of issue 15 every evaluation formatted its details: the first test fails there.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.contract.decode import Decoder
from streams.engine.processor import collecting_engine
from streams.engine.rules import context
from streams.policy.model import Policy
from tests.support import Events

#: One booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1


@pytest.fixture
def formatted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every timestamp a rule formats for its details (``Context.ts``)."""
    calls: list[int] = []
    real = context.isoformat

    def counting(moment: int, zone: Any) -> str:
        calls.append(moment)
        return real(moment, zone)

    monkeypatch.setattr(context, "isoformat", counting)
    return calls


def held_on_a_detainer(ny: Events) -> list[dict[str, Any]]:
    return [
        ny.booking("2011-10-03 08:00"),
        ny.hit("2011-10-03 09:00"),
        ny.detainer("2011-10-03 10:00"),
        ny.release("2011-10-03 12:00", phase="eligible"),
    ]


def test_findings_not_yet_due_format_nothing(
    policy: Policy, ny: Events, formatted: list[int]
) -> None:
    engine, alerts = collecting_engine(policy)
    decode = Decoder().decode
    for event in held_on_a_detainer(ny):
        engine.process(decode(orjson.dumps(event)))
    case = engine.cases[ny.booking_id]
    assert case.findings  # the rules found violations to come (no hit, hold limit, ...)
    assert alerts == [] and formatted == []


def test_an_emitted_alert_has_its_details(policy: Policy, ny: Events, formatted: list[int]) -> None:
    engine, alerts = collecting_engine(policy)
    decode = Decoder().decode
    for event in held_on_a_detainer(ny):
        engine.process(decode(orjson.dumps(event)))
    engine.finish(until=engine.newest_applied + 30 * 24 * 3600 * 1_000_000)
    exceeded = [a for a in alerts if a["rule"] == "hold_limit_exceeded"]
    assert exceeded and exceeded[0]["details"]["eligible_at"] == "2011-10-03T12:00:00-04:00"
    assert formatted  # built now, for the alerts emitted
