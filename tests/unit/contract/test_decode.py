"""Every way an input can be bad ends as a precise dead-letter reason, never an exception."""

from __future__ import annotations

import orjson
import pytest

from streams.contract.dead_letters import dead_letter, original_bytes
from streams.contract.decode import Decoder, Rejected
from tests.support import Events, reference_validator

GOOD = Events("bk-1").hit("2011-10-03T09:00:00-04:00")


def reason(raw: bytes, **kw: object) -> str:
    with pytest.raises(Rejected) as rejected:
        Decoder().decode(raw, **kw)  # type: ignore[arg-type]
    return rejected.value.reason


def with_(**changes: object) -> bytes:
    return orjson.dumps({**GOOD, **changes})


def test_a_good_event_decodes_with_its_time_parsed() -> None:
    event = Decoder().decode(orjson.dumps(GOOD))
    assert (event.type, event.booking_id, event.event_id) == ("hit", "bk-1", GOOD["event_id"])
    assert event.at == 1317646800 * 1_000_000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (with_(type="arrest"), "unknown_type"),
        (with_(type=["hit"]), "unknown_type"),
        (with_(status="alien"), "schema_violation"),
        (with_(conviction_level=3), "schema_violation"),
        (with_(extra="field"), "schema_violation"),
        (orjson.dumps({k: v for k, v in GOOD.items() if k != "status"}), "schema_violation"),
        (with_(booking_id="x" * 129), "schema_violation"),
        (with_(occurred_at="2011-10-03T09:00:00"), "schema_violation"),
        (with_(occurred_at="2011-02-30T09:00:00Z"), "schema_violation"),
        (with_(occurred_at="2011-10-03T09:00:60Z"), "bad_timestamp"),
        (with_(occurred_at="0001-01-01T00:00:00+01:00"), "bad_timestamp"),
        (b"[" * 2000 + b"]" * 2000, "invalid_json"),
        (b" " * 70_000, "oversized"),
    ],
)
def test_bad_input_gets_a_precise_reason(raw: bytes, expected: str) -> None:
    assert reason(raw) == expected


def test_lower_case_separators_are_rfc_3339_too() -> None:
    assert Decoder().decode(with_(occurred_at="2011-10-03t13:00:00z")).at == 1317646800 * 1_000_000


def test_the_topic_decides_the_allowed_type() -> None:
    assert reason(orjson.dumps(GOOD), expected_type="booking") == "type_topic_mismatch"


def test_the_key_must_be_the_booking_id() -> None:
    assert reason(orjson.dumps(GOOD), key=b"") == "empty_key"
    assert reason(orjson.dumps(GOOD), key=b"bk-2") == "key_mismatch"
    assert Decoder().decode(orjson.dumps(GOOD), key=b"bk-1").booking_id == "bk-1"


@pytest.mark.parametrize("raw", [b"\xff\x00binary", "caf\u00e9 {".encode()])
def test_a_dead_letter_keeps_the_original_bytes_exactly(raw: bytes) -> None:
    record = dead_letter(raw, "invalid_json", "detail", line=7)
    reference_validator("dead_letter").validate(record)
    assert original_bytes(orjson.loads(orjson.dumps(record))) == raw
    assert record["line"] == 7
