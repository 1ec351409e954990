"""The Faust app with one consumer setting Faust does not expose: the fetch long-poll's wait.

faust-streaming builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` hard-coded. Apache
Kafka answers a waiting fetch as soon as data arrives, so the value only sets how often an idle
consumer asks; the embedded Tansu broker answers it only after the wait (measured: 0.25-0.65 s
per hop with 1.5 s, 0.01-0.06 s with 0.5 s). A live tick makes two hops (the worker's own tick
topic-partition, then the alerts topic) before a deadline alert is out, so on Tansu the wait
alone spent most of the 1 s the live mode promises. The wait is a worker setting
(``--fetch-max-wait``, default 0.5 s: Apache Kafka's own default for ``fetch.max.wait.ms``).

Subclasses, not patches: :class:`HoldwatchApp` makes its transport from :class:`Transport`,
whose consumer thread sets the wait on the aiokafka consumer it creates, before it starts.

The consumer commits only what the agents acked (:meth:`HoldwatchConsumer.ack`): Faust's
stream also acks every message it *skips*, even on a ``noack()`` stream, and it skips those
fetched before a rebalance that reach the stream while the rebalance is under way. Committed,
such an ack moved a partition's offset past events no worker had applied, and a worker that got
the partition again resumed after them: their alerts were lost (kafka-2 on Apache Kafka under
load, about 1 run in 5: 12 of 94 alerts, all of events applied before the rebalance).

A partition without a committed offset is read from its start after every rebalance
(``_ConsumerThread.seek_to_committed``). While a rebalance is under way Faust pauses the
input partitions and silently discards records fetched for a paused one, after aiokafka has moved
its position past them; it counts on its seek to the committed offsets to read them again, but
aiokafka seeks only partitions whose committed offset is above 0. A worker that kept a partition
across a rebalance before its first commit (a second worker joining in the first seconds) went
on from where it was: the events it had applied but not yet checkpointed were dropped with its
state, the discarded records never came back, and their alerts were lost (kafka-2 on Apache
Kafka, offsets 2 and 3 of a partition missing after the rebalance; about 1 run in 8).

The consumer also re-reads a partition whose log shrank under it (:meth:`HoldwatchConsumer.rewind_lost`).
Apache Kafka answers a fetch past a partition's end with ``OffsetOutOfRange`` and the consumer
resets to the earliest offset; the embedded Tansu broker (memory storage) loses every message and
committed offset when it restarts and answers such a fetch with no records and no error, and
Faust drops every record below the offset it last read. A worker whose position was left past
the new end after a restart never saw the partition again (the replay tool's start barrier of
that partition was never answered: about one 30-second outage test in 20 on Tansu).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from faust.types.transports import TransportT
from mode.services import WaitResults

from streams.streaming import inline


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    consumer: HoldwatchConsumer  # its maker (``HoldwatchConsumer._new_consumer_thread``)

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        app = self.app
        if isinstance(app, HoldwatchApp):
            # aiokafka reads it when the consumer starts (its Fetcher); no public setter exists.
            consumer._fetch_max_wait_ms = round(app.fetch_max_wait * 1000)
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust's seek to the committed offsets, and to the start for an input partition that
        has none yet (see the module docstring: records Faust discarded would be lost).

        aiokafka seeks only a partition whose committed offset is above 0 and leaves any other
        where it was. Faust relies on this seek to re-read what it threw away during a
        rebalance (records fetched for a partition it had paused), so a partition kept by the
        same worker across a rebalance before its first commit resumed past them."""
        committed = await super().seek_to_committed()
        if self.app.conf.consumer_auto_offset_reset != "earliest":
            return committed
        is_changelog = self.consumer.is_changelog  # recovery positions those itself
        fresh = [
            tp for tp, offset in committed.items() if not offset and not is_changelog(tp.topic)
        ]
        if fresh:
            await self.seek_to_beginning(*fresh)
        return committed

    async def seek_here(self, tp: TP, offset: int) -> None:
        """aiokafka's seek, on this thread (run through ``call_thread``: see
        :meth:`HoldwatchConsumer._seek`)."""
        self._ensure_consumer().seek(tp, offset)


log = logging.getLogger("holdwatch.worker")

#: Seconds a seek may wait for the consumer thread (see ``HoldwatchConsumer._seek``).
SEEK_TIMEOUT = 5.0


class _ReadOffsets(dict[TP, "int | None"]):
    """Faust's last offset read per topic-partition, kept but never used, for the agents' inputs,
    to drop a record or to infer a gap (its ``_drain_messages`` reads it only through
    ``__getitem__``).

    Faust drops every record below the offset it last read and takes a jump above it for records
    the log does not have (``_add_gap``: offsets its commit may then skip). Both misfire after a
    seek back: a record delivered from before the seek sets the read offset past the re-read,
    whose records are then dropped (seen: a seek back to offset 7 undone by buffered records up
    to 526, the partition stalled), and the jump counts offsets nobody applied as a gap. The
    agents see every record instead and keep the order themselves (``sequence``); changelog
    topics keep Faust's behaviour."""

    def __init__(self, is_changelog: Callable[[str], bool]) -> None:
        super().__init__()
        self._is_changelog = is_changelog

    def __missing__(self, tp: TP) -> None:
        return None

    def __getitem__(self, tp: TP) -> int | None:
        return super().__getitem__(tp) if self._is_changelog(tp.topic) else None


class HoldwatchConsumer(faust_aiokafka.Consumer):
    _thread: _ConsumerThread  # its own (``_new_consumer_thread``)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changelog: dict[str, bool] = {}  # topic -> is it a table's changelog
        self._read_offset = _ReadOffsets(self.is_changelog)
        self._allowed: set[tuple[str, int, int]] = set()
        # Partitions seen past their end at the last check, with what was seen (see rewind_lost).
        self._past_end: dict[TP, tuple[int, int | None, int | None]] = {}

    def is_changelog(self, topic: str) -> bool:
        """Whether ``topic`` is a table's changelog (asked per fetched record, so remembered:
        Faust builds a new set for ``changelog_topics`` on every call; the tables are all
        declared when the worker is built, before any record is fetched)."""
        known = self._changelog.get(topic)
        if known is None:
            known = self._changelog[topic] = topic in self.app.tables.changelog_topics
        return known

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Faust's ``wait_first``, without its tasks when the first coroutine never waits.

        Faust's fetch loop calls ``wait_first(hand_over(message), suspend_flow.wait())`` for
        every message (its only caller here), so that a rebalance can interrupt a hand-over
        blocked on a full stream buffer; that costs four tasks per message (``inline``). With
        the flow not suspended and the consumer running, the hand-over's first step runs here:
        finished, it is the only winner, as it would have been (its task was scheduled first);
        waiting, it goes on in Faust's ``wait_first``, from where it stopped, raced against the
        others as before."""
        if (
            timeout is None
            and len(coros) > 1
            and asyncio.iscoroutine(coros[0])
            and not self.suspend_flow.is_set()
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        ):
            first, others = coros[0], coros[1:]
            try:
                stepped = inline.step(first)
            except BaseException:
                _close(others)
                raise
            if isinstance(stepped, inline.Done):
                _close(others)
                return WaitResults([first], [stepped.value], False)
            coros = (stepped, *others)
        return await super().wait_first(*coros, timeout=timeout)

    async def _seek(self, partition: TP, offset: int) -> None:
        """Seek on the consumer thread, not the caller's (Faust's ``_seek`` calls aiokafka's
        ``seek`` from the main thread).

        aiokafka's seek deletes the partition's fetched records (``Fetcher.seek_to``) while its
        own thread may be iterating and deleting in the same dict (``fetched_records``). The
        worker's seeks (hole re-reads, a lost log read again) ran on the main thread, and once
        a worker died of it: ``KeyError`` in ``fetched_records`` after a Tansu restart with lost
        logs. On the consumer thread the two cannot interleave.

        The seek waits its turn in the thread's method queue (two workers, which a ``position``
        call can hold while a partition has no valid position). A turn not come within
        ``SEEK_TIMEOUT`` raises, as a failed seek does: the callers treat it as a partition
        revoked meanwhile, and a hole still open is sought again at the next delivery run
        (``sequence``). Faust's 90 s request timeout would hold the agent's delivery that long."""
        thread = self._thread
        await asyncio.wait_for(
            thread.call_thread(thread.seek_here, partition, offset), timeout=SEEK_TIMEOUT
        )

    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def allow_ack(self, message: Message) -> None:
        """The agent settled and checkpointed ``message``: its ack may count towards a commit."""
        self._allowed.add((message.topic, message.partition, message.offset))

    def ack(self, message: Message) -> bool:
        """Faust's ack, for the messages the agents allowed only (see the module docstring).

        A refused ack leaves the message unacked: its offset is not committed, so the
        partition's owner reads it again."""
        key = (message.topic, message.partition, message.offset)
        if key not in self._allowed:
            return False
        self._allowed.discard(key)
        return bool(super().ack(message))

    async def rewind_lost(self, topics: Container[str]) -> list[TP]:
        """Seek to the start every assigned partition of ``topics`` whose end (the high watermark
        of the last fetch) was below where this consumer reads at two checks in a row, with
        nothing moved in between: the broker lost its log. Returns them (their unacked messages
        are gone with the log: the caller forgets them).

        Two checks, because one can be wrong: on Apache Kafka, which answers a fetch past the end
        with ``OffsetOutOfRange``, the cached high watermark was once seen 4 offsets behind the
        position of a partition being written to (a false "lost log" and a needless re-read of
        it, in a crash-restart test). A lost log stays lost: the position does not move and the
        end stays below it. It costs one position lookup per assigned partition per call."""
        lost: list[TP] = []
        seen: dict[TP, tuple[int, int | None, int | None]] = {}
        for tp in sorted(self.assignment()):
            if tp.topic not in topics:
                continue
            try:
                high = self.highwater(tp)  # None before the first fetch of this assignment
                if high is None:
                    continue
                position = await asyncio.wait_for(self.position(tp), timeout=1.0)
            except Exception:  # unassigned by a rebalance meanwhile, or the broker is away
                continue
            # The last offset Faust handed to a stream, or after a seek the next one to read: at
            # most the end either way, so only "past the end" is a loss.
            read = self._read_offset.get(tp)
            if not (
                (read is not None and read > high) or (position is not None and position > high)
            ):
                continue
            seen[tp] = observed = (high, position, read)
            if self._past_end.get(tp) != observed:
                continue  # first sighting: confirmed (or not) by the next check
            log.warning(
                "partition %s[%d] ends at offset %d, before this worker's position %s: "
                "the broker lost its log (an empty restart?); reading it from the start",
                tp.topic,
                tp.partition,
                high,
                max(read or 0, position or 0),
            )
            lost.append(tp)
        self._past_end = {tp: obs for tp, obs in seen.items() if tp not in lost}
        rewound: list[TP] = []
        for tp in lost:
            try:
                await self.seek(tp, 0)  # also forgets the read offset
            except Exception:  # unassigned meanwhile: its next owner starts from the committed
                continue
            # What Faust itself forgets of a revoked partition, so that offsets from 0 are read
            # again (not dropped as already read) and committed again (not skipped as below the
            # old committed offset).
            for table in (self._gap, self._acked, self._acked_index, self._committed_offset):
                table.pop(tp, None)
            rewound.append(tp)
        return rewound


def _close(awaitables: tuple[Any, ...]) -> None:
    """Close coroutines that will never be awaited (no "never awaited" warning)."""
    for awaitable in awaitables:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the consumer above (the producer side is Faust's own)."""

    Consumer = HoldwatchConsumer


class HoldwatchApp(faust.App):
    """A Faust app whose consumer long-polls for at most ``fetch_max_wait`` seconds."""

    #: Seconds a fetch waits for data on an idle partition (see the module docstring).
    fetch_max_wait: float = 0.5

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)
