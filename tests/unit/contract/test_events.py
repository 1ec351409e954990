"""The event the decoder builds (a frozen Struct with these fields, in this order), and its
content digest: the same bytes as when bodies were dicts."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from importlib import resources

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.decode import Decoder, Rejected
from streams.contract.events import DIGEST_SIZE, Event, content_digest


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


def _dict_digest(event: Event) -> bytes:
    """The content digest as first defined: orjson over the body as a dict, keys sorted."""
    body = msgspec.to_builtins(event.body)
    body["occurred_at"] = event.at
    data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()


def test_the_digest_of_every_sample_line_is_the_dict_digest() -> None:
    """Digests already stored (changelog records, held ids) stay valid: same bytes hashed."""
    path = resources.files("streams.data").joinpath("sample.jsonl.gz")
    decoder = Decoder()
    with gzip.open(str(path), "rb") as lines:
        for line in itertools.islice(lines, 5000):
            event = decoder.decode(line.rstrip(b"\n"))
            assert content_digest(event) == _dict_digest(event)


@settings(max_examples=500, deadline=None)
@given(
    st.text(min_size=1, max_size=64),
    st.text(min_size=1, max_size=128),
    st.sampled_from(["Z", "+05:30", "-07:00"]),
)
def test_any_text_digests_as_the_dict_digest(place: str, code: str, offset: str) -> None:
    """msgspec's sorted encoding escapes every character as orjson does."""
    raw = orjson.dumps(
        {
            "type": "booking",
            "event_id": code[:64] or "e",
            "booking_id": "bk-1",
            "occurred_at": f"2011-10-01T03:00:48{offset}",
            "person_id": code,
            "jurisdiction": place,
            "timezone": "America/New_York",
            "charges": [{"code": code, "severity": "felony", "category": "drug"}],
        }
    )
    try:
        event = Decoder().decode(raw)
    except Rejected:
        return  # the jurisdiction check is the engine's: the decoder takes any 1-64 chars
    assert content_digest(event) == _dict_digest(event)
