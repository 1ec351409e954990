"""The one watermark merge and barrier tracking both agents use (``streams.streaming.merge``).
(On the starting main each agent had its own copy: the module did not exist.)"""

from __future__ import annotations

from streams.engine.watermark import NEVER
from streams.streaming.merge import InputFrontier


def test_the_watermark_is_the_slowest_input_and_floors_only_rise() -> None:
    frontier: InputFrontier[str] = InputFrontier(["bookings", "hits"])
    assert frontier.watermark == NEVER
    frontier.raise_floor("bookings", 10)
    assert frontier.watermark == NEVER  # hits has delivered nothing yet
    frontier.raise_floor("hits", 7)
    frontier.raise_floor("hits", 3)  # a lower floor changes nothing
    assert frontier.watermark == 7
    assert frontier.floors == {"bookings": 10, "hits": 7}


def test_a_barrier_completes_once_when_every_input_passed_it() -> None:
    frontier: InputFrontier[int] = InputFrontier(range(3))
    assert not frontier.barrier(0, "run")
    assert not frontier.barrier(0, "run")  # the same input twice is still one
    assert not frontier.barrier(2, "run")
    assert frontier.barrier(1, "run")
    assert not frontier.barrier(1, "other")  # runs are tracked apart


def test_an_input_that_reports_without_being_named_joins_the_merge() -> None:
    frontier: InputFrontier[int] = InputFrontier([0])
    frontier.raise_floor(0, 5)
    frontier.raise_floor(1, 2)
    assert frontier.watermark == 2
