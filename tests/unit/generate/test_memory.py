"""Memory is bounded by the bookings in custody, not by the number of bookings."""

from __future__ import annotations

import tracemalloc

from streams.generate import generate


def peak_bytes(bookings: int, per_day: float) -> int:
    tracemalloc.start()
    try:
        for _ in generate(bookings, seed=8, per_day=per_day):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ten_times_the_bookings_take_about_the_same_memory() -> None:
    # A low rate lets the smaller log reach the steady number of open bookings (stays run up
    # to 120 days) while keeping tracemalloc's overhead small: 100 days vs 1,000 days.
    peak_bytes(100, per_day=5)  # warm up module-level caches
    small = peak_bytes(500, per_day=5)
    large = peak_bytes(5_000, per_day=5)
    assert large < 1.5 * small, (small, large)
