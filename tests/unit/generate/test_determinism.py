"""Same seed and arguments give the same bytes; another seed gives another log."""

from __future__ import annotations

from datetime import date

from streams.generate import SyntheticLog, generate


def test_same_seed_gives_identical_bytes() -> None:
    assert b"".join(generate(1_500, seed=5)) == b"".join(generate(1_500, seed=5))


def test_iterating_a_log_twice_gives_identical_bytes() -> None:
    log = SyntheticLog(500, seed=5)
    assert list(log) == list(log)


def test_different_seed_gives_a_different_log() -> None:
    assert b"".join(generate(500, seed=5)) != b"".join(generate(500, seed=6))


def test_ids_are_derived_from_the_seed() -> None:
    first = next(generate(10, seed=42))
    assert first.startswith(b'{"type":"booking","event_id":"bk-42-0-0","booking_id":"bk-42-0"')


def test_a_longer_log_has_the_bookings_of_a_shorter_one() -> None:
    # Bookings are drawn in arrival order from one stream: the first bookings of a longer log
    # are the bookings of a shorter one.
    short = [line for line in generate(200, seed=9) if b'"type":"booking"' in line]
    long = [line for line in generate(400, seed=9) if b'"type":"booking"' in line]
    assert set(short) <= set(long)


def test_start_and_rate_change_the_log() -> None:
    base = b"".join(generate(100, seed=1))
    assert b"".join(generate(100, seed=1, start=date(2018, 1, 1))) != base
    assert b"".join(generate(100, seed=1, per_day=50)) != base
