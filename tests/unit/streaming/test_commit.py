"""The cadence of an agent: outputs whenever its input runs dry, state only every interval."""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.streaming.commit import Cadence


@pytest.fixture
def calls() -> list[str]:
    return []


def cadence_for(
    calls: list[str], interval: float = 60.0, max_batch: int = 3, max_messages: int = 100
) -> Cadence:
    async def deliver() -> None:
        calls.append("deliver")

    async def checkpoint() -> None:
        calls.append("checkpoint")

    return Cadence(
        deliver, checkpoint, interval=interval, max_batch=max_batch, max_messages=max_messages
    )


def run(cadence: Cadence, inputs_empty: list[bool]) -> None:
    async def agent() -> None:
        for empty in inputs_empty:
            async with cadence.lock:
                cadence.processed()
                await cadence.after(empty)

    asyncio.run(agent())


def test_outputs_go_out_when_the_input_runs_dry_state_waits_for_the_interval(
    calls: list[str],
) -> None:
    run(cadence_for(calls), [False, True, False, True])
    assert calls == ["deliver", "deliver"]


def test_a_busy_input_still_delivers_every_max_batch_messages(calls: list[str]) -> None:
    run(cadence_for(calls, max_batch=3), [False] * 7)
    assert calls == ["deliver", "deliver"]


def test_a_checkpoint_always_follows_a_delivery(calls: list[str]) -> None:
    run(cadence_for(calls, interval=0.0), [True, False, True])
    assert calls == ["deliver", "checkpoint", "deliver", "checkpoint"]


def test_max_messages_forces_a_checkpoint_before_the_interval(calls: list[str]) -> None:
    run(cadence_for(calls, max_batch=1, max_messages=5), [False] * 5)
    assert calls == ["deliver"] * 4 + ["deliver", "checkpoint"]


def test_a_quiet_input_is_checkpointed_by_the_idle_timer(calls: list[str]) -> None:
    cadence = cadence_for(calls, interval=0.05)
    run(cadence, [True])
    assert calls == ["deliver"]
    asyncio.run(cadence.when_idle())  # too early: nothing
    assert calls == ["deliver"]
    time.sleep(0.06)
    asyncio.run(cadence.when_idle())
    assert calls == ["deliver", "deliver", "checkpoint"]
    asyncio.run(cadence.when_idle())  # nothing left
    assert calls == ["deliver", "deliver", "checkpoint"]
