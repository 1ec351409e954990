"""The outage filter turns a flood of aiokafka connection errors into one line every few seconds."""

from __future__ import annotations

import logging

import pytest

from streams.logging_setup import BrokerOutageFilter, NoIdentifiers


def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_outage_flood_becomes_periodic_waiting_lines(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    f = BrokerOutageFilter(every=10.0, clock=lambda: now[0])
    error = (
        "Unable connect to node with id 111: [Errno 111] Connect call failed ('127.0.0.1', 52793)"
    )
    kept = []
    with caplog.at_level(logging.WARNING, logger="holdwatch.kafka"):
        for _ in range(300):  # 30 s at 10 errors a second
            kept.append(f.filter(record("aiokafka", error)))
            now[0] += 0.1
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
