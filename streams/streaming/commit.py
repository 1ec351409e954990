"""Delivering outputs and checkpointing state: the order that keeps at-least-once honest.

The agents process each message at once and synchronously, but talk to the broker per run of
messages, so a per-message round trip (an alert, a changelog write, an ack) becomes a per-run one:

1. **deliver**, whenever the input buffer runs dry (or ``max_batch`` messages were processed):
   alerts and dead letters are sent and their delivery awaited, then replay barriers go out;
2. **checkpoint**, every ``checkpoint_interval`` (like Kafka Streams' commit interval): the cases
   changed since the last checkpoint go to the table (each once, however many messages changed
   it), the changelog is *synced* (below), and only then are the messages acked.

A case never records an alert as sent before the alert is delivered, and a message is never acked
before the state it changed is in the changelog, nor before every earlier message of its
topic-partition is settled (:class:`InOrderAcks`: Faust would otherwise commit past a message the
watermark merge still holds). A crash re-delivers every unacked message to the
last checkpointed state: its events are applied again (alerts again, with the same ids, which
``holdwatch alerts tail`` prints once), and those already applied are dropped by ``event_id``.

Changelog sync: Tansu answers ListOffsets(latest) with the base offset of the last record batch
plus one, so Faust's recovery stops before the tail of a multi-record batch and silently loses
updates (docs/kafka-notes.md). Instead of forcing one record per batch on every produce, each
checkpoint ends every changelog partition it wrote with one lone tombstone for a key no case
uses (:data:`SYNC_KEY`), sent after everything before it was delivered: the last batch then holds
one record and the reported end is exact. On real Kafka the tombstones are harmless and compacted
away.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any

from faust.streams import _current_event
from faust.types import TP

#: (topic, partition) of an input message.
TopicPartition = tuple[str, int]

SYNC_KEY = b"\x00holdwatch:changelog-sync"


@contextmanager
def acting_for(event: Any) -> Iterator[None]:
    """Table writes inside go to ``event``'s partition (Faust takes it from the current event).

    A batch holds messages from several partitions; its table writes happen after the loop
    moved on, so each partition's writes are made "as" one of that partition's own messages.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Changelog:
    """A checkpoint's table writes, each one changelog record whose delivery is awaited.

    ``table[key] = value`` hands the record to Faust's producer buffer and keeps no handle on it,
    and Faust's ``producer.flush()`` is no barrier: its buffer flush gives up after 0.1 s without
    a record sent (``ProducerBuffer.flush_atmost``), so on a loaded machine the messages were
    acked (and their offsets committed) while their cases' records still sat in the buffer. A
    partition that moved then (two workers: a rebalance while events flow) was recovered by its
    new owner without them and resumed past the events that made them: a case without the hit or
    the service it had, and an invented alert. Here :meth:`delivered` sends every record written
    since the last call and awaits each one's acknowledgement.

    The records go to the producer itself (``app.producer.send``), not through Faust's buffer
    (``Table.send_changelog``): Faust's conductor stops handing messages to *every* agent while
    that buffer holds over 100 records, and drains it itself one record at a time. A
    checkpoint's burst (a record per changed case: 6,000 on the bench's 20k-event log) stalled
    all consumption for 0.3-1.1 s, once per checkpoint. What Faust's per-record callback did for
    a sent record, remember its offset in the store (RocksDB recovers from there), is done here
    once per partition, with the last offset acknowledged. That callback persists offsets at the
    transaction's commit under exactly-once; the worker runs at least once (``app.py``), where it
    persists them on acknowledgement, as here. Faust's send sensors are not called for these
    records (Holdwatch reads none).
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self._pending: list[tuple[int, bytes, bytes | None]] = []

    def write(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Set (``None``: delete) ``key`` in the table; its changelog record goes to
        ``partition`` at :meth:`delivered` (call it inside :func:`acting_for` one of that
        partition's messages: a RocksDB store files the key by the current event)."""
        data = self.table.data
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
        self._pending.append((partition, key, value))

    async def delivered(self) -> None:
        """Every record written so far is sent and acknowledged by the broker.

        If a send or an acknowledgement fails (the producer stopped, a timeout, a cancellation),
        every record of the call is kept to be sent again by the next call, and the error
        propagates: the checkpoint acks nothing, and no later checkpoint acks these messages
        without their records (a record sent twice is harmless in a compacted changelog)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        table = self.table
        topic = table.changelog_topic.get_topic_name()
        send = table.app.producer.send
        acks: list[Awaitable[Any]] = []
        try:
            for partition, key, value in pending:
                acks.append(await send(topic, key, value, partition, None, None))
            sent_records = await asyncio.gather(*acks)
        except BaseException:
            self._pending[:0] = pending
            for ack in acks:  # nobody awaits them now: their errors are not worth a warning
                asyncio.ensure_future(ack).add_done_callback(_outcome_retrieved)
            raise
        last: dict[int, int] = {}
        for sent in sent_records:
            last[sent.partition] = max(sent.offset, last.get(sent.partition, -1))
        for partition, offset in last.items():
            table.data.set_persisted_offset(TP(topic, partition), offset)


def _outcome_retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def sync_changelog(table: Any, partitions: Iterable[int], tombstones: bool = True) -> None:
    """After the checkpoint's records are delivered (:meth:`Changelog.delivered`): one lone
    tombstone per written changelog partition, awaited (``tombstones=False``, for brokers whose
    latest offset is exact such as Apache Kafka: nothing)."""
    wanted = sorted(set(partitions))
    if not wanted or not tombstones:
        return
    futures = [table.send_changelog(p, SYNC_KEY, None, value_serializer="raw") for p in wanted]
    await asyncio.gather(*futures)


def _input_empty(stream: Any) -> Callable[[], bool]:
    """Whether the stream has nothing more buffered: the moment to deliver what was processed."""
    queue = getattr(getattr(stream, "channel", None), "queue", None)
    empty = getattr(queue, "empty", None)
    return empty if empty is not None else (lambda: True)


class Cadence:
    """When an agent delivers and when it checkpoints; the agent says how.

    :meth:`drive` runs the agent's message loop: each message is processed (synchronously) under
    :attr:`lock`, then outputs are delivered when the input buffer is empty, but not before the
    run is ``linger`` seconds old: a timer delivers it then if no message came meanwhile. A timer
    awaits :meth:`when_idle` so a stream that went quiet is still checkpointed. ``deliver`` and
    ``checkpoint`` run under the lock.

    Why the linger: Faust's stock fetch loop hands the stream one message at a time and yields to
    the event loop after each hand-over, so the buffer was empty after nearly every message even
    with a backlog. Delivering at every empty buffer made runs of 1.06 messages on average
    (25,000 runs for 26,583 messages of the bench's 20,000-event log), and each run pays for its
    sends, its jurisdiction-fact message, its metrics and its barrier checks. (The worker's
    consumer now hands over inline, ``transport.HoldwatchConsumer.wait_first``, and Faust's loop
    then yields every 100 messages; the buffer still runs dry at every fetch.) A few milliseconds
    gather a backlog into one run; alerts leave at most ``linger`` later (live deadline alerts
    have a 1 s budget).
    """

    def __init__(
        self,
        deliver: Callable[[], Awaitable[None]],
        checkpoint: Callable[[], Awaitable[None]],
        *,
        interval: float,
        max_batch: int,
        max_messages: int,
        linger: float = 0.0,
    ) -> None:
        self.deliver = deliver
        self.checkpoint = checkpoint
        self.interval = interval
        self.max_batch = max_batch
        self.max_messages = max_messages
        self.linger = linger
        self.lock = asyncio.Lock()
        self.since = 0.0  # when the oldest message not yet checkpointed was processed
        self.run_since = 0.0  # when the oldest message not yet delivered was processed
        self.undelivered = 0
        self.uncheckpointed = 0
        self._later: asyncio.TimerHandle | None = None  # the linger's delivery, if one is due
        self._tasks: set[asyncio.Future[None]] = set()

    async def drive(self, stream: Any, process: Callable[[Any], None]) -> None:
        """``process`` every event of ``stream`` (a ``noack()`` Faust stream), at the cadence."""
        input_empty = _input_empty(stream)
        async for event in stream.events():
            async with self.lock:
                process(event)
                self.processed()
                await self.after(input_empty())

    def processed(self) -> None:
        now = perf_counter()
        if not self.uncheckpointed:
            self.since = now
        if not self.undelivered:
            self.run_since = now
        self.undelivered += 1
        self.uncheckpointed += 1

    async def after(self, input_empty: bool) -> None:
        if self.undelivered >= self.max_batch:
            await self._deliver_run()
        elif input_empty:
            waited = perf_counter() - self.run_since
            if waited >= self.linger:
                await self._deliver_run()
            elif self._later is None:
                loop = asyncio.get_running_loop()
                self._later = loop.call_later(self.linger - waited, self._deliver_later)

    def _deliver_later(self) -> None:
        self._later = None
        task = asyncio.ensure_future(self._lingered())
        self._tasks.add(task)  # kept until done: the loop holds only a weak reference
        task.add_done_callback(self._tasks.discard)

    async def _lingered(self) -> None:
        """The linger is over and no message ended the run: deliver it."""
        async with self.lock:
            if self.undelivered and self._later is None:
                await self._deliver_run()

    async def _deliver_run(self) -> None:
        await self._deliver()
        if self.uncheckpointed >= self.max_messages or perf_counter() - self.since >= self.interval:
            await self._checkpoint()

    async def when_idle(self) -> None:
        async with self.lock:
            if self.uncheckpointed and perf_counter() - self.since >= self.interval:
                await self._deliver()
                await self._checkpoint()

    async def _deliver(self) -> None:
        self.undelivered = 0
        if self._later is not None:
            self._later.cancel()
            self._later = None
        await self.deliver()

    async def _checkpoint(self) -> None:
        self.uncheckpointed = 0
        await self.checkpoint()


class InOrderAcks:
    """Which messages may be acked: per input topic-partition, only a settled run from the oldest
    message received and not yet acked.

    The watermark merge holds an event until every input topic has passed it, while a tick or a
    dead letter later in the same topic-partition settles at once. faust-streaming 0.15 commits
    the end of the first run of consecutive acked offsets and lets a run start one past the
    committed offset (``Consumer._new_offset``, faust-streaming issue #606): acking offset n+1
    while offset n is held commits n+2, and a crash before n is applied loses it for good (the
    invented ``detainer_without_hit`` of issue 13). Acked only in offset order, every commit
    Faust can make is below the oldest message not yet in the changelog.
    """

    def __init__(self) -> None:
        self._received: dict[TopicPartition, deque[int]] = {}
        self._settled: dict[TopicPartition, dict[int, Any]] = {}

    def received(self, tp: TopicPartition, offset: int) -> None:
        """A message of ``tp`` was taken from the stream.

        Offsets ascend within a tp except after a seek back (Faust's seek to the committed
        offsets once a rebalance's recovery is over, after it had already let some messages
        through): the messages from ``offset`` on are then read again, and their first reading
        is forgotten. Kept, the deque would hold ``offset`` twice and the second copy could
        never be matched by a settled one: no ack of that tp again until the next rebalance."""
        queue = self._received.setdefault(tp, deque())
        if queue and queue[-1] >= offset:
            settled = self._settled.get(tp, {})
            while queue and queue[-1] >= offset:
                settled.pop(queue.pop(), None)
        queue.append(offset)

    def settled(self, tp: TopicPartition, offset: int, token: Any) -> None:
        """The message at ``offset`` was applied, dropped or dead-lettered: ``token`` acks it."""
        self._settled.setdefault(tp, {})[offset] = token

    def pending(self, tp: TopicPartition) -> int:
        """Messages of ``tp`` received and not yet handed out by :meth:`ackable`."""
        return len(self._received.get(tp, ()))

    def ackable(self, keep: Callable[[TopicPartition], bool] = lambda tp: True) -> list[Any]:
        """The tokens to ack now, oldest first, for every ``tp`` that ``keep`` accepts: per tp,
        the settled messages before the first one still unsettled. They are forgotten here."""
        out: list[Any] = []
        for tp, received in self._received.items():
            if not keep(tp):
                continue
            settled = self._settled.get(tp)
            while received and settled and received[0] in settled:
                out.append(settled.pop(received.popleft()))
        return out

    def forget(self, drop: Callable[[TopicPartition], bool]) -> None:
        """Drop every ``tp`` that ``drop`` accepts (revoked: its new owner re-reads from the
        committed offset)."""
        for tp in [tp for tp in self._received if drop(tp)]:
            del self._received[tp]
            self._settled.pop(tp, None)
        for tp in [tp for tp in self._settled if drop(tp)]:
            del self._settled[tp]
