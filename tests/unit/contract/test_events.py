"""The event the decoder builds: a frozen Struct with these fields, in this order."""

from __future__ import annotations

import msgspec
import pytest

from streams.contract.events import Event


def test_event_is_a_frozen_struct_of_its_fields() -> None:
    body = {"type": "hit", "event_id": "e-1"}
    made = Event("hit", "bk-1", "e-1", 17, body)
    assert made == Event(type="hit", booking_id="bk-1", event_id="e-1", at=17, body=body)
    assert made.body is body
    assert [f.name for f in msgspec.structs.fields(Event)] == [
        "type",
        "booking_id",
        "event_id",
        "at",
        "body",
    ]
    with pytest.raises(AttributeError):
        made.at = 18  # type: ignore[misc]
