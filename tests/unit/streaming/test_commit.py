"""The cadence of an agent: outputs whenever its input runs dry, state only every interval."""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.streaming.commit import Cadence, InOrderAcks


@pytest.fixture
def calls() -> list[str]:
    return []


def cadence_for(
    calls: list[str],
    interval: float = 60.0,
    max_batch: int = 3,
    max_messages: int = 100,
    linger: float = 0.0,
) -> Cadence:
    async def deliver() -> None:
        calls.append("deliver")

    async def checkpoint() -> None:
        calls.append("checkpoint")

    return Cadence(
        deliver,
        checkpoint,
        interval=interval,
        max_batch=max_batch,
        max_messages=max_messages,
        linger=linger,
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


def test_a_run_that_runs_dry_early_is_delivered_once_the_linger_is_over(
    calls: list[str],
) -> None:
    """Faust hands the stream one message at a time, so its buffer is empty after almost every
    message: without a linger each message was a delivery run of its own. With one, messages
    within the linger join the run, and the run still goes out with no further message."""
    cadence = cadence_for(calls, max_batch=100, linger=0.05)

    async def agent() -> None:
        for _ in range(5):  # a backlog handed over message by message: dry after each
            async with cadence.lock:
                cadence.processed()
                await cadence.after(True)
            await asyncio.sleep(0.001)
        assert calls == []  # the run is younger than the linger
        await asyncio.sleep(0.1)  # no further message: the timer delivers it
        assert calls == ["deliver"]
        async with cadence.lock:  # the next run starts its own linger
            cadence.processed()
            await cadence.after(True)
        assert calls == ["deliver"]
        await asyncio.sleep(0.1)
        assert calls == ["deliver", "deliver"]

    asyncio.run(agent())
    assert cadence.undelivered == 0


def test_the_linger_never_delays_a_full_batch_and_a_run_past_it_goes_at_once(
    calls: list[str],
) -> None:
    cadence = cadence_for(calls, max_batch=3, linger=60.0)
    run(cadence, [True, True, True])  # the third message fills the batch: delivered now
    assert calls == ["deliver"]
    calls.clear()
    cadence = cadence_for(calls, max_batch=100, linger=0.01)

    async def agent() -> None:
        async with cadence.lock:
            cadence.processed()
            await cadence.after(False)  # more buffered: no timer
        await asyncio.sleep(0.02)
        async with cadence.lock:
            cadence.processed()
            await cadence.after(True)  # dry, and the run is older than the linger
        assert calls == ["deliver"]
        await asyncio.sleep(0.03)  # and no second delivery from a timer
        assert calls == ["deliver"]

    asyncio.run(agent())


BOOKINGS_0 = ("bookings", 0)
HITS_0 = ("hits", 0)


def test_a_message_settled_behind_a_held_one_waits_for_it() -> None:
    """The cause of issue 13's invented alert: a tick behind an event the watermark merge holds
    settles first. Acked at once, faust-streaming commits past the held event (its issue #606)
    and a SIGKILL loses it; on the starting main the worker acked in settling order."""
    acks = InOrderAcks()
    acks.received(BOOKINGS_0, 10)  # an event, held
    acks.received(BOOKINGS_0, 11)  # a tick
    acks.settled(BOOKINGS_0, 11, "tick@11")
    assert acks.ackable() == []
    acks.settled(BOOKINGS_0, 10, "event@10")
    assert acks.ackable() == ["event@10", "tick@11"]
    assert acks.ackable() == []
    assert acks.pending(BOOKINGS_0) == 0


def test_each_topic_partition_is_ordered_on_its_own() -> None:
    acks = InOrderAcks()
    acks.received(BOOKINGS_0, 0)
    acks.received(HITS_0, 0)
    acks.received(HITS_0, 1)
    acks.settled(HITS_0, 0, "hit@0")
    acks.settled(HITS_0, 1, "hit@1")
    assert acks.ackable() == ["hit@0", "hit@1"]
    assert acks.pending(BOOKINGS_0) == 1


def test_only_the_partitions_asked_for_are_acked() -> None:
    """A partition revoked since its messages were processed is someone else's: not acked."""
    acks = InOrderAcks()
    acks.received(("bookings", 1), 0)
    acks.settled(("bookings", 1), 0, "p1")
    acks.received(BOOKINGS_0, 0)
    acks.settled(BOOKINGS_0, 0, "p0")
    assert acks.ackable(lambda tp: tp[1] == 0) == ["p0"]
    acks.forget(lambda tp: tp[1] == 1)
    assert acks.ackable() == []
    assert acks.pending(("bookings", 1)) == 0


def test_messages_read_again_after_a_seek_back_replace_their_first_reading() -> None:
    """Faust seeks to the committed offset after a rebalance's recovery, having already let
    offsets 5-7 through: they come again. Before, the second 5 could never match a settled
    one and that topic-partition was never acked again."""
    acks = InOrderAcks()
    for offset in (5, 6, 7):
        acks.received(BOOKINGS_0, offset)
    acks.settled(BOOKINGS_0, 5, "first@5")
    acks.settled(BOOKINGS_0, 7, "first@7")
    for offset in (5, 6, 7, 8):  # read again from the committed offset
        acks.received(BOOKINGS_0, offset)
        acks.settled(BOOKINGS_0, offset, f"again@{offset}")
    assert acks.ackable() == ["again@5", "again@6", "again@7", "again@8"]
    assert acks.pending(BOOKINGS_0) == 0


def test_a_seek_back_keeps_what_was_received_before_it() -> None:
    acks = InOrderAcks()
    for offset in (3, 4, 5):
        acks.received(BOOKINGS_0, offset)
    acks.received(BOOKINGS_0, 5)  # read again from 5 only
    acks.settled(BOOKINGS_0, 3, "e@3")
    acks.settled(BOOKINGS_0, 4, "e@4")
    acks.settled(BOOKINGS_0, 5, "again@5")
    assert acks.ackable() == ["e@3", "e@4", "again@5"]
