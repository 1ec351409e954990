"""The decoder's fast event constructor builds the same frozen ``Event``."""

from __future__ import annotations

import dataclasses

import pytest

from streams.contract.events import Event, make_event


def test_make_event_is_event() -> None:
    body = {"type": "hit", "event_id": "e-1"}
    made = make_event("hit", "bk-1", "e-1", 17, body)
    built = Event("hit", "bk-1", "e-1", 17, body)
    assert type(made) is Event
    assert made == built
    assert repr(made) == repr(built)
    assert made.body is body
    assert [f.name for f in dataclasses.fields(Event)] == [
        "type",
        "booking_id",
        "event_id",
        "at",
        "body",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.at = 18  # type: ignore[misc]
