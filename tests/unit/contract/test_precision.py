"""``precision`` and ``bound``: optional marks of a day-precision source (schemas/common).

They fail on the starting main, whose schemas refused any property they did not list.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.contract.decode import Decoder, Rejected
from streams.policy.load import load_policy
from tests.support import Events, reference_validator, replay

MARKS = {"precision": "day", "bound": "lower"}


def day_case(marks: dict[str, str]) -> list[dict[str, Any]]:
    """Eligible, then held four days on a detainer: exceeded under either form."""
    ev = Events("bk-day")
    return [
        ev.booking("2014-06-10T00:00:00-05:00", jurisdiction="TX-Travis") | marks,
        ev.detainer("2014-06-10T00:00:00-05:00", form="I-247A-2017") | marks,
        ev.release("2014-06-11T00:00:00-05:00", "eligible") | marks,
        ev.release("2014-06-16T00:00:00-05:00", "transferred_to_ice") | marks,
    ]


@pytest.mark.parametrize("index", range(4))
def test_marks_are_accepted_on_booking_detainer_and_release(index: int) -> None:
    event = day_case(MARKS)[index]
    decoded = Decoder().decode(orjson.dumps(event))
    body: Any = decoded.body
    assert body.precision == "day" and body.bound == "lower"
    reference_validator(event["type"]).validate(event)  # the reference validator agrees


@pytest.mark.parametrize(("field", "value"), [("precision", "hour"), ("bound", "middle")])
def test_unknown_mark_values_are_schema_violations(field: str, value: str) -> None:
    event = day_case(MARKS)[2] | {field: value}
    with pytest.raises(Rejected) as info:
        Decoder().decode(orjson.dumps(event))
    assert info.value.reason == "schema_violation"


def test_the_engine_decides_on_occurred_at_alone() -> None:
    """With or without the marks, the same alerts (the marks are informational)."""
    policy = load_policy()
    marked, _, dead = replay(policy, day_case(MARKS))
    plain, _, _ = replay(policy, day_case({}))
    assert not dead
    assert "hold_limit_exceeded" in {a["rule"] for a in marked if a["state"] == "firing"}

    def decisions(alerts: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
        # Events() numbers event ids globally, so the evidence ids differ between the two runs.
        return [(a["alert_id"], a["rule"], a["state"], a["occurred_at"]) for a in alerts]

    assert decisions(marked) == decisions(plain)
