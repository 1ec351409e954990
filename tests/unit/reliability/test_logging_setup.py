"""The outage filter turns a flood of aiokafka connection errors into one line every few seconds."""

from __future__ import annotations

import logging

import pytest

from streams.engine.clock import ManualClock
from streams.logging_setup import BrokerOutageFilter, NoIdentifiers, redact, redact_person_ids


def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_outage_flood_becomes_periodic_waiting_lines(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    f = BrokerOutageFilter(every=10.0, clock=clock)
    error = (
        "Unable connect to node with id 111: [Errno 111] Connect call failed ('127.0.0.1', 52793)"
    )
    kept = []
    with caplog.at_level(logging.WARNING, logger="holdwatch.kafka"):
        for _ in range(300):  # 30 s at 10 errors a second
            kept.append(f.filter(record("aiokafka", error)))
            clock.advance(0.1)
        assert f.filter(record("aiokafka.consumer", "Joined group", logging.INFO))
    assert sum(kept) == 1
    waiting = [r.getMessage() for r in caplog.records if "waiting for Kafka" in r.getMessage()]
    assert 2 <= len(waiting) <= 3 and "127.0.0.1:52793" in waiting[0]
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_holdwatch_records_always_pass() -> None:
    assert BrokerOutageFilter().filter(record("holdwatch.worker", "Unable to bootstrap"))


def test_identifier_guard() -> None:
    r = record("faust", "processing bk-123", logging.INFO)
    assert NoIdentifiers(r"bk-\S+").filter(r)
    assert "bk-123" not in r.getMessage()


RAW_PERSON = "PERSON-RAW-5d1e"


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"booking","person_id":"PERSON-RAW-5d1e","jurisdiction":"x"}',  # JSON
        "{'person_id': 'PERSON-RAW-5d1e', 'charges': []}",  # a dict's repr (a case state)
        """ConsumerRecord(value=b'{"person_id": "PERSON-RAW-5d1e"}')""",  # bytes repr
        '{"original": "{\\"person_id\\":\\"PERSON-RAW-5d1e\\"}"}',  # a dead letter's JSON
        '{"person_id": ["PERSON-RAW-5d1e", {"x": "PERSON-RAW-5d1e"}]}',  # a non-string value
        '{"person_id": PERSON-RAW-5d1e, "n": 1}',  # bare (not JSON, still redacted)
        "sending person_id=PERSON-RAW-5d1e to dead letters",
    ],
)
def test_redact_removes_every_form_of_a_person_id(text: str) -> None:
    redacted = redact(text)
    assert RAW_PERSON not in redacted
    assert "person_id" in redacted and "<redacted>" in redacted


def test_redact_keeps_everything_else() -> None:
    text = '{"booking_id":"bk-1","person_id":"P","jurisdiction":"NY"}'
    assert redact(text) == '{"booking_id":"bk-1","person_id":"<redacted>","jurisdiction":"NY"}'
    assert redact("no identifier here") == "no identifier here"


def test_debug_records_of_any_logger_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """Fails on the starting main: aiokafka/Faust debug records carried a rejected booking's raw
    ``person_id`` (and case states) into the worker log at ``--log-level debug``."""
    redact_person_ids()
    booking = b'{"type":"booking","person_id":"PERSON-RAW-5d1e","booking_id":"bk-9"}'
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("aiokafka.consumer.fetcher").debug("fetched %r", booking)
        logging.getLogger("faust.tables").debug("set %s", {"person_id": RAW_PERSON})
        logging.getLogger("holdwatch.worker").warning("dead letter %s", booking.decode())
        try:
            raise ValueError(f"bad value {booking!r}")
        except ValueError:
            logging.getLogger("faust").exception("crashed")
    assert len(caplog.records) == 4
    assert RAW_PERSON not in caplog.text
    assert all(RAW_PERSON not in r.getMessage() for r in caplog.records)


def test_the_cli_installs_the_redaction_before_anything_logs() -> None:
    """``holdwatch`` (every subcommand) turns redaction on first thing."""
    import subprocess
    import sys

    code = (
        "import logging, sys; from streams.cli.main import main;"
        "sys.argv=['holdwatch','--version'];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "logging.basicConfig(level=logging.DEBUG);"
        "logging.getLogger('aiokafka').debug('%s', {'person_id': 'PERSON-RAW-5d1e'})"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "<redacted>" in result.stderr, result.stderr
    assert RAW_PERSON not in result.stderr
