"""The worker's consumer: it long-polls for ``fetch_max_wait``, not Faust's hard-coded 1.5 s,
and re-reads a partition whose log the broker lost.

On main the wait was 1.5 s; on the embedded Tansu broker, which answers a waiting fetch only after
the wait, that made a live deadline alert take 0.8-0.95 s of the 1 s promised (two hops). The
lost-log guard is driven end to end by
``tests/integration/reliability/test_broker_outage.py::test_an_input_log_lost_under_a_running_worker_is_read_again_from_its_start``;
here, which positions it takes for a loss.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from typing import Any

import pytest

from streams.kafka.settings import KafkaSettings
from streams.streaming.app import Worker, WorkerConfig
from streams.streaming.transport import HoldwatchApp


def consumer_wait_ms(worker: Worker) -> int:
    """The fetch wait of the aiokafka consumer the worker's Faust consumer thread would start."""

    async def build() -> int:
        thread = worker.app.consumer._thread
        consumer = thread._create_worker_consumer(worker.app.transport)
        return int(consumer._fetch_max_wait_ms)

    return asyncio.run(build())


def test_the_consumer_waits_at_most_the_configured_fetch_wait(default_policy: Any) -> None:
    config = WorkerConfig(KafkaSettings(), default_policy, clock="event", fetch_max_wait=0.2)
    worker = Worker(config)
    assert isinstance(worker.app, HoldwatchApp)
    assert consumer_wait_ms(worker) == 200


def test_the_default_wait_is_apache_kafkas_half_second(default_policy: Any) -> None:
    worker = Worker(WorkerConfig(KafkaSettings(), default_policy, clock="event"))
    assert consumer_wait_ms(worker) == 500


class FakeLog:
    """One assigned partition's view as the consumer sees it: the end of the last fetch, the
    consumer's next fetch position and the offset Faust last read."""

    def __init__(self, worker: Worker, *, high: int | None, position: int, read: int | None):
        from faust.types import TP

        self.consumer = worker.app.consumer
        self.tp = TP("t.bookings", 0)
        self.seeks: list[tuple[Any, int]] = []
        consumer = self.consumer
        consumer.assignment = lambda: {self.tp, TP("other", 0)}  # type: ignore[method-assign]
        consumer.highwater = lambda tp: high  # type: ignore[method-assign]

        async def position_of(tp: Any) -> int:
            return position

        async def seek(tp: Any, offset: int) -> None:
            self.seeks.append((tp, offset))

        consumer.position = position_of  # type: ignore[method-assign]
        consumer.seek = seek  # type: ignore[method-assign]
        if read is not None:
            consumer._read_offset[self.tp] = read
        consumer._committed_offset[self.tp] = 57

    def check(self) -> list[Any]:
        """One run of the guard's timer."""
        return asyncio.run(self.consumer.rewind_lost({"t.bookings"}))

    def rewind(self) -> list[Any]:
        """Two runs of the timer with nothing moved in between: what the second one rewound
        (the first never rewinds)."""
        assert self.check() == []
        return self.check()


def test_a_partition_that_ends_before_the_position_is_read_again_from_its_start(
    default_policy: Any,
) -> None:
    """Tansu restarted empty: the partition ends at 1, the consumer would fetch from 57."""
    fake = FakeLog(
        Worker(WorkerConfig(KafkaSettings(), default_policy)), high=1, position=57, read=56
    )
    assert fake.rewind() == [fake.tp]
    assert fake.seeks == [(fake.tp, 0)]
    # and Faust no longer skips commits below the old committed offset
    assert fake.consumer._committed_offset.get(fake.tp) is None


def test_faust_read_offset_past_the_end_is_a_loss_too(default_policy: Any) -> None:
    """The position was reset but Faust still drops every record below the offset it last read."""
    fake = FakeLog(
        Worker(WorkerConfig(KafkaSettings(), default_policy)), high=1, position=0, read=56
    )
    assert fake.rewind() == [fake.tp]


def test_a_consumer_at_the_end_is_left_alone(default_policy: Any) -> None:
    """After a seek to a committed offset Faust's read offset is the next offset to read, which
    equals the end when the partition is caught up: not a loss."""
    worker = Worker(WorkerConfig(KafkaSettings(), default_policy))
    for read in (None, 56, 57):
        fake = FakeLog(worker, high=57, position=57, read=read)
        assert fake.rewind() == []
        assert fake.seeks == []


def test_a_partition_not_fetched_yet_is_left_alone(default_policy: Any) -> None:
    fake = FakeLog(
        Worker(WorkerConfig(KafkaSettings(), default_policy)), high=None, position=57, read=56
    )
    assert fake.rewind() == []


def test_one_sighting_past_the_end_is_not_a_loss(default_policy: Any) -> None:
    """Apache Kafka: the cached end once lagged 4 offsets behind the position of a partition
    being written to. The next check sees the fetch moved on: nothing is rewound."""
    worker = Worker(WorkerConfig(KafkaSettings(), default_policy))
    fake = FakeLog(worker, high=329, position=333, read=332)
    assert fake.check() == []
    fake.consumer.highwater = lambda tp: 334  # type: ignore[method-assign]
    assert fake.check() == []
    # and a later, unrelated lag is a first sighting again, not a confirmation
    fake.consumer.highwater = lambda tp: 329  # type: ignore[method-assign]
    assert fake.check() == []
    assert fake.seeks == []


def test_a_loss_that_moved_between_checks_waits_for_a_still_one(default_policy: Any) -> None:
    worker = Worker(WorkerConfig(KafkaSettings(), default_policy))
    fake = FakeLog(worker, high=1, position=57, read=56)
    assert fake.check() == []
    fake.consumer.highwater = lambda tp: 2  # type: ignore[method-assign]
    assert fake.check() == []  # the end moved: a first sighting of (2, 57, 56)
    assert fake.check() == [fake.tp]


def test_a_partition_unassigned_meanwhile_is_skipped(default_policy: Any) -> None:
    """A rebalance between ``assignment()`` and the lookups: aiokafka asserts the partition is
    assigned; the timer must not crash the worker."""
    fake = FakeLog(
        Worker(WorkerConfig(KafkaSettings(), default_policy)), high=1, position=57, read=56
    )

    def unassigned(tp: Any) -> int:
        raise AssertionError("Partition is not assigned")

    fake.consumer.highwater = unassigned  # type: ignore[method-assign]
    assert fake.rewind() == []


def test_only_the_acks_an_agent_allowed_count(default_policy: Any) -> None:
    """Faust's stream acks every message it skips (fetched before a rebalance), even on a
    ``noack()`` stream; committed, such an ack moved a partition past events no worker had
    applied, and their alerts were lost (kafka-2 on Apache Kafka under load). The worker's
    consumer lets through only the acks the agent allowed after its checkpoint."""
    from faust.types import TP, Message

    consumer = Worker(WorkerConfig(KafkaSettings(), default_policy)).app.consumer

    def message(offset: int) -> Message:
        return Message(
            "t.bookings", 0, offset, 0.0, 0, [], b"k", b"v", None, tp=TP("t.bookings", 0)
        )

    skipped = message(1200)
    assert consumer.ack(skipped) is False
    assert skipped.acked is False  # its offset will not be committed
    settled = message(0)
    consumer.allow_ack(settled)
    consumer.ack(settled)
    assert settled.acked is True
    assert consumer.ack(message(0)) is False  # an allowance is used once


class FakeCommitted:
    """The consumer thread's view of a seek to the committed offsets: what aiokafka found
    committed per assigned partition, and the partitions then sought to their start."""

    def __init__(self, worker: Worker, monkeypatch: Any, committed: dict[Any, int | None]):
        from faust.transport.drivers import aiokafka as faust_aiokafka

        self.thread = worker.app.consumer._thread
        self.to_start: list[Any] = []

        async def aiokafka_seek_to_committed(thread: Any) -> dict[Any, int | None]:
            return committed

        async def seek_to_beginning(*tps: Any) -> None:
            self.to_start.extend(tps)

        monkeypatch.setattr(
            faust_aiokafka.AIOKafkaConsumerThread, "seek_to_committed", aiokafka_seek_to_committed
        )
        self.thread.seek_to_beginning = seek_to_beginning

    def seek(self) -> Any:
        return asyncio.run(self.thread.seek_to_committed())


def test_an_input_partition_without_a_commit_is_read_from_its_start_after_a_rebalance(
    default_policy: Any, monkeypatch: Any
) -> None:
    """kafka-2 on Apache Kafka: a worker kept partition 2 across the second worker's join,
    before its first commit; Faust had discarded offsets 2-3 fetched while it was paused and
    aiokafka (which seeks only committed offsets above 0) left the position at 4: two events
    and their alerts lost. Committed partitions are aiokafka's to seek; changelogs are
    recovery's."""
    from faust.types import TP

    worker = Worker(WorkerConfig(KafkaSettings(), default_policy, clock="event"))
    changelog = sorted(worker.app.tables.changelog_topics)[0]
    committed = {
        TP("holdwatch.bookings", 2): None,
        TP("holdwatch.hits", 2): 0,
        TP("holdwatch.bookings", 0): 57,
        TP(changelog, 2): None,
    }
    fake = FakeCommitted(worker, monkeypatch, committed)
    assert fake.seek() == committed  # what Faust then takes as read and committed offsets
    assert sorted(fake.to_start) == [TP("holdwatch.bookings", 2), TP("holdwatch.hits", 2)]


def test_with_every_input_committed_nothing_more_is_sought(
    default_policy: Any, monkeypatch: Any
) -> None:
    from faust.types import TP

    worker = Worker(WorkerConfig(KafkaSettings(), default_policy, clock="event"))
    fake = FakeCommitted(worker, monkeypatch, {TP("holdwatch.bookings", 0): 57})
    fake.seek()
    assert fake.to_start == []


def test_faust_never_drops_an_input_record_below_its_read_offset(default_policy: Any) -> None:
    """Faust's fetch loop drops a record below the offset it last read, and takes a jump above it
    for a gap its commit may skip; after a seek back both misfire (records buffered from before
    the seek reset the read offset past the re-read). For the agents' inputs it reads None: every
    record is delivered and the agent keeps the order (``sequence``). Changelogs keep Faust's."""
    from faust.types import TP

    worker = Worker(WorkerConfig(KafkaSettings(), default_policy, clock="event"))
    consumer = worker.app.consumer
    changelog = sorted(worker.app.tables.changelog_topics)[0]
    read = consumer._read_offset
    read[TP("holdwatch.bookings", 2)] = 526
    read[TP(changelog, 2)] = 40
    assert read[TP("holdwatch.bookings", 2)] is None  # what the fetch loop sees
    assert read.get(TP("holdwatch.bookings", 2)) == 526  # what the lost-log guard sees
    assert read[TP(changelog, 2)] == 40
    assert read[TP(changelog, 3)] is None  # never read: Faust's defaultdict(None)
    read.pop(TP("holdwatch.bookings", 2))  # Faust forgets a revoked partition


def consumer_in_this_loop(policy: Any) -> Any:
    """A worker's consumer whose events (suspended flow, stopped, crashed) belong to the running
    loop, as they do in a worker (Faust builds them on the loop current at construction)."""
    consumer = Worker(WorkerConfig(KafkaSettings(), policy, clock="event")).app.consumer
    consumer.suspend_flow = asyncio.Event()
    consumer._stopped = asyncio.Event()
    consumer._crashed = asyncio.Event()
    return consumer


class HandOver:
    """Faust's per-message hand-over to its conductor, which waits only on a full buffer."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.finished = False

    async def __call__(self, blocks: bool) -> str:
        if blocks:
            await self.gate.wait()
        self.finished = True
        return "handed over"


def test_a_hand_over_that_never_waits_needs_no_tasks(default_policy: Any) -> None:
    """Faust's ``wait_first`` made four tasks per message; the hand-over usually finishes at
    once, and then it is the only winner, with no task made and the other coroutine closed."""
    hand_over = HandOver()

    async def scenario() -> Any:
        consumer = consumer_in_this_loop(default_policy)
        before = len(asyncio.all_tasks())
        first = hand_over(blocks=False)
        result = await consumer.wait_first(first, consumer.suspend_flow.wait())
        assert len(asyncio.all_tasks()) == before
        assert result.done == [first]
        return result

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail here
        result = asyncio.run(scenario())
        gc.collect()
    assert (result.results, result.stopped) == (["handed over"], False)
    assert hand_over.finished


def test_a_hand_over_that_waits_still_yields_to_a_rebalance(default_policy: Any) -> None:
    """A hand-over blocked on a full buffer goes on in Faust's ``wait_first``: the suspended
    flow of a rebalance wins, and the hand-over is cancelled at its await, as before."""
    hand_over = HandOver()

    async def scenario() -> Any:
        consumer = consumer_in_this_loop(default_policy)
        suspend = consumer.suspend_flow
        waiting = asyncio.ensure_future(consumer.wait_first(hand_over(blocks=True), suspend.wait()))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        suspend.set()
        return await asyncio.wait_for(waiting, 5)

    result = asyncio.run(scenario())
    assert result.results == [True]  # the suspend flow's wait won
    assert not hand_over.finished


def test_a_hand_over_that_waits_finishes_once_its_buffer_has_room(default_policy: Any) -> None:
    hand_over = HandOver()

    async def scenario() -> Any:
        consumer = consumer_in_this_loop(default_policy)
        waiting = asyncio.ensure_future(
            consumer.wait_first(hand_over(blocks=True), consumer.suspend_flow.wait())
        )
        await asyncio.sleep(0.01)
        hand_over.gate.set()
        return await asyncio.wait_for(waiting, 5)

    result = asyncio.run(scenario())
    assert (result.results, result.stopped) == (["handed over"], False)
    assert hand_over.finished


def test_with_the_flow_suspended_the_hand_over_is_not_run_inline(default_policy: Any) -> None:
    """A rebalance under way: Faust's own race decides, as before (the suspend flow is set)."""
    hand_over = HandOver()

    async def scenario() -> Any:
        consumer = consumer_in_this_loop(default_policy)
        consumer.suspend_flow.set()
        return await asyncio.wait_for(
            consumer.wait_first(hand_over(blocks=True), consumer.suspend_flow.wait()), 5
        )

    result = asyncio.run(scenario())
    assert True in result.results
    assert not hand_over.finished


class SeekRecorder:
    """aiokafka's consumer, as far as a seek goes: it records the thread each seek ran on."""

    def __init__(self) -> None:
        self.seeks: list[tuple[Any, int, int]] = []

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset, threading.get_ident()))


async def call_on_another_thread(thread: Any, fun: Any, *args: Any) -> Any:
    """Mode's ``call_thread``: run ``fun`` on a thread of its own and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: asyncio.run(fun(*args)))


def test_a_seek_runs_on_the_consumer_thread_not_the_callers(
    default_policy: Any, monkeypatch: Any
) -> None:
    """aiokafka's seek deletes the partition's fetched records while its own thread may be
    iterating them: from the main thread it once killed a worker (``KeyError`` in
    ``Fetcher.fetched_records``) after a Tansu restart made it re-read holes."""
    from faust.types import TP

    from streams.streaming import transport

    aiokafka = SeekRecorder()
    monkeypatch.setattr(transport._ConsumerThread, "_ensure_consumer", lambda self: aiokafka)
    monkeypatch.setattr(transport._ConsumerThread, "call_thread", call_on_another_thread)

    async def scenario() -> None:
        consumer = consumer_in_this_loop(default_policy)
        await consumer.seek(TP("holdwatch.hits", 2), 7)

    asyncio.run(scenario())
    [(tp, offset, where)] = aiokafka.seeks
    assert (tp.topic, tp.partition, offset) == ("holdwatch.hits", 2, 7)
    assert where != threading.get_ident()


def test_a_seek_the_consumer_thread_never_takes_fails_after_the_seek_timeout(
    default_policy: Any, monkeypatch: Any
) -> None:
    """A thread whose queue is held (a ``position`` call looping on an invalid position) must not
    hold the agent's delivery for Faust's 90 s request timeout: the seek fails, as a seek of a
    revoked partition does, and an open hole is sought again at the next delivery run."""
    from faust.types import TP

    from streams.streaming import transport

    async def never(self: Any, fun: Any, *args: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(transport._ConsumerThread, "call_thread", never)
    monkeypatch.setattr(transport, "SEEK_TIMEOUT", 0.05)

    async def scenario() -> None:
        consumer = consumer_in_this_loop(default_policy)
        with pytest.raises(asyncio.TimeoutError):
            await consumer.seek(TP("holdwatch.hits", 2), 7)

    asyncio.run(scenario())
