"""The checkpointed agent: the one shape of both Faust agents (rules and jurisdictions).

An agent owns one piece of state per partition of its input (a :class:`PartitionDriver` per
input partition, a :class:`JurisdictionPartition` per facts partition) and a changelog-backed
table that state is checkpointed to. Everything about talking to the broker is here, once:

* the message loop (``commit.Cadence``): each message processed at once and synchronously by the
  subclass's :meth:`CheckpointedAgent.handle`, which only fills the :class:`Outbox`;
* delivery, whenever the input buffer runs dry: alerts and dead letters sent and their delivery
  awaited, then the completed replay barriers forwarded (:meth:`forward_barrier`);
* checkpoint, after a delivery, every ``checkpoint_interval``: each touched partition's state
  written through the changelog (:meth:`write_state`), every record acknowledged by the broker
  (``commit.Changelog``), the changelog synced, and only then the settled
  messages acked, in offset order per topic-partition (``commit.InOrderAcks``);
* a revoked partition's state dropped and its unacked messages left to the new owner.

Subclasses say what a message does and how their state is opened and written; the app wires
them (``app.Worker``). Nothing is patched at run time.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import faust
import orjson
from faust.types import TP, EventT, TableT, TopicT

from streams.engine.alerts import Alert
from streams.observability.metrics import WorkerMetrics
from streams.streaming import commit
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.sequence import OffsetSequence

log = logging.getLogger("holdwatch.worker")

#: The per-partition state an agent owns.
S = TypeVar("S")


@runtime_checkable
class AckGate(Protocol):
    """A consumer that commits only the acks an agent allowed (``transport.HoldwatchConsumer``;
    Faust's own also acks every message its stream skips)."""

    def allow_ack(self, message: Any) -> None: ...


def _ack_gate(consumer: Any) -> AckGate:
    if not isinstance(consumer, AckGate):
        raise TypeError(f"{type(consumer).__name__} would commit acks of skipped messages")
    return consumer


@dataclass
class Outputs:
    """Where agents write: the alerts and dead-letters topics, and the key that signs barriers."""

    alerts: TopicT
    dead_letters: TopicT
    control: ctl.ControlKey

    async def barrier(self, topic: TopicT, run: str, partition: int) -> None:
        """A signed end-of-run marker: a reader of ``topic``'s ``partition`` has it all."""
        marker = [(hdr.BARRIER, run.encode())]
        headers = self.control.sign(topic.get_topic_name(), partition, marker)
        await topic.send(value=b"", partition=partition, headers=headers)


@dataclass
class Outbox:
    """Outputs of processed messages not yet delivered."""

    # (partition, alert, what the agent wants back once it is delivered: see ``delivered``)
    alerts: list[tuple[int, Alert, Any]] = field(default_factory=list)
    dead_letters: list[tuple[int, bytes | None, dict[str, Any]]] = field(default_factory=list)
    barriers: list[tuple[str, int]] = field(default_factory=list)  # (run, partition)


@dataclass
class AgentTiming:
    """The cadence settings (``WorkerConfig``'s) and whether the changelog is synced by tombstone."""

    checkpoint_interval: float
    max_batch: int
    checkpoint_messages: int
    changelog_sync: bool
    linger: float  # a run is delivered no sooner than this after its first message (commit.py)


class CheckpointedAgent(ABC, Generic[S]):
    """One Faust agent over ``topic`` with per-partition state ``S`` checkpointed to ``table``."""

    def __init__(
        self,
        app: faust.App,
        name: str,
        topic: TopicT,
        table: TableT[bytes, bytes],
        outputs: Outputs,
        timing: AgentTiming,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.metrics = metrics
        self.observed = metrics.run() if metrics is not None else None  # this run's, published
        self.table = table
        self.outputs = outputs
        self.changelog = commit.Changelog(table)  # what write_state writes through
        self._gate = _ack_gate(app.consumer)
        self.partitions: dict[int, S] = {}
        self.outbox = Outbox()
        self.acks = commit.InOrderAcks()  # settled messages, acked in offset order per tp
        self.sequence = OffsetSequence()  # no offset skipped (Faust can drop records silently)
        self._topics = set(topic.topics)
        self._touched: dict[
            int, tuple[S, EventT[bytes]]
        ] = {}  # partition -> (its state, a message of it)
        self._stream: Any = None  # Faust's noack() stream (StreamT does not declare noack)
        self._sync = timing.changelog_sync
        self.cadence = commit.Cadence(
            self._deliver,
            self._checkpoint,
            interval=timing.checkpoint_interval,
            max_batch=timing.max_batch,
            max_messages=timing.checkpoint_messages,
            linger=timing.linger,
        )
        app.agent(topic, name=name)(self._run)
        app.timer(
            interval=timing.checkpoint_interval / 2, on_leader=False, name=f"{name}-checkpoint"
        )(self._checkpoint_if_idle)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

    # -- what a subclass says ------------------------------------------------------------------

    @abstractmethod
    def open(self, partition: int) -> S:
        """This worker's state for a newly assigned ``partition`` (recovered from the table)."""

    @abstractmethod
    def handle(self, state: S, event: EventT[bytes]) -> None:
        """One message: outputs to :attr:`outbox`, :meth:`settle` for every message it settles.
        Synchronous and without I/O."""

    @abstractmethod
    def write_state(self, state: S) -> bool:
        """Write what changed since the last checkpoint through :attr:`changelog` (not
        ``table[key] = ...``: its record could not be awaited); True if anything was."""

    @abstractmethod
    async def forward_barrier(self, run: str, partition: int) -> None:
        """Every input of ``partition`` passed ``run``'s barrier and its outputs are delivered."""

    def delivered(self, alert: Alert, context: Any) -> None:
        """An alert is acknowledged by the broker (``context`` as given to the outbox)."""

    def dropped(self, partition: int) -> None:
        """``partition`` was revoked and its state dropped."""

    def run_processed(self) -> None:
        """A run of messages was processed and its delivery starts: outputs a subclass gathers
        over a run (the rules agent's facts) go out now, before alerts and barriers."""

    def run_delivered(self) -> None:
        """A delivery run ended (its outputs acknowledged, its barriers forwarded): the moment
        to publish what the run observed (metrics are fed once per run, not per message)."""

    # -- the shape -----------------------------------------------------------------------------

    @property
    def topics(self) -> frozenset[str]:
        """The names of the input topics."""
        return frozenset(self._topics)

    def state(self, partition: int) -> S:
        found = self.partitions.get(partition)
        if found is None:
            found = self.partitions[partition] = self.open(partition)
        return found

    def settle(self, event: EventT[bytes]) -> None:
        """The message ``event`` was applied, dropped or dead-lettered: ackable once checkpointed."""
        message = event.message
        self.acks.settled((message.topic, message.partition), message.offset, event)

    async def _run(self, stream: Any) -> None:
        self._stream = stream.noack()
        await self.cadence.drive(self._stream, self.process)

    def process(self, event: EventT[bytes]) -> None:
        """One message through its partition's state; outputs to the outbox (no I/O here)."""
        message = event.message
        if self.fetched_before_rebalance(message):
            return  # neither applied nor settled: its owner now reads it from the committed offset
        partition = message.partition
        tp = (message.topic, partition)
        if self.sequence.admit(tp, message.offset, message.generation_id):
            return  # offsets missing before it: neither applied nor settled, read again (sequence)
        state = self.state(partition)
        self.acks.received(tp, message.offset)
        self.handle(state, event)
        self._touched[partition] = (state, event)

    def fetched_before_rebalance(self, message: Any) -> bool:
        """Whether ``message`` was fetched before a rebalance that has begun or ended since.

        Faust skips such a message when its stream takes it from the buffer, but the agent may
        hold it longer: while it waits for the cadence lock (a checkpoint awaiting the broker)
        a rebalance can revoke every partition (dropping their state) and assign them again
        (state recovered from the changelog, messages re-read from the committed offset).
        Applied then, it would reopen its partition's state ahead of that re-read. Left alone
        (neither applied nor acked), the partition's owner reads it again. The same test as
        Faust's: flow suspended (a rebalance under way) or another consumer generation."""
        app = self.app
        return bool(
            not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id
        )

    async def _deliver(self) -> None:
        """Alerts and dead letters out and acknowledged by the broker, then the barriers."""
        await self._read_holes_again()
        self.run_processed()
        outbox, self.outbox = self.outbox, Outbox()
        alerts, dead = self.outputs.alerts, self.outputs.dead_letters
        sent: list[tuple[Any, Alert | None, Any]] = []
        for partition, alert, context in outbox.alerts:
            delivery = await alerts.send(
                key=alert["booking_id"].encode() or None,
                value=orjson.dumps(alert),
                partition=partition,
            )
            sent.append((delivery, alert, context))
        for partition, key, record in outbox.dead_letters:
            delivery = await dead.send(key=key, value=orjson.dumps(record), partition=partition)
            sent.append((delivery, None, None))
        for delivery, maybe_alert, context in sent:
            await delivery
            if maybe_alert is not None:
                self.delivered(maybe_alert, context)
        for run, partition in outbox.barriers:
            if partition in self.partitions:
                await self.forward_barrier(run, partition)
        self.run_delivered()

    async def _read_holes_again(self) -> None:
        """Seek back to the first offset the consumer did not deliver (``sequence``)."""
        consumer = self.app.consumer
        for seek in self.sequence.seeks():
            (topic, partition), offset = seek.tp, seek.offset
            tp = TP(topic, partition)
            try:
                if seek.first:
                    earliest = (await consumer.earliest_offsets(tp)).get(tp)
                    if earliest is not None and earliest > offset:
                        log.error(
                            "%s: %s[%d] offsets %d-%d were deleted (retention) before this "
                            "worker read them; going on from %d",
                            self.name,
                            topic,
                            partition,
                            offset,
                            earliest - 1,
                            earliest,
                        )
                        self.sequence.skip_to(seek.tp, earliest)
                        offset = earliest
                        self._count_reread("retention")
                    else:
                        self._count_reread("hole")
                        log.warning(
                            "%s: %s[%d] delivered past offset %d without it; reading from there "
                            "again",
                            self.name,
                            topic,
                            partition,
                            offset,
                        )
                await consumer.seek(tp, offset)
            except Exception:  # revoked meanwhile: its next reading starts afresh
                log.info("%s: %s[%d] not assigned any more", self.name, topic, partition)

    def _count_reread(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.reread.labels(reason).inc()

    async def _checkpoint(self) -> None:
        """Changed state to the table, changelog synced, then the messages acked.

        Only after :meth:`_deliver`: state never records an alert as sent before it is.
        """
        touched, self._touched = self._touched, {}
        # A partition revoked meanwhile is someone else's now: its messages stay unacked.
        mine = {p for p, (state, _) in touched.items() if self.partitions.get(p) is state}
        written = []
        for partition in mine:
            state, event = touched[partition]
            with commit.acting_for(event):
                if self.write_state(state):
                    written.append(partition)
        await self.changelog.delivered()
        await commit.sync_changelog(self.table, written, tombstones=self._sync)
        # A rebalance during those awaits may have revoked a partition and reopened it (state
        # recovered, messages re-read): the re-read messages settled since are not in what was
        # just written, so only partitions whose state is still the one written are acked.
        mine = {p for p in mine if self.partitions.get(p) is touched[p][0]}
        for token in self.acks.ackable(lambda tp: tp[1] in mine):
            self._gate.allow_ack(token.message)
            await self._stream.ack(token)

    async def _checkpoint_if_idle(self) -> None:
        """Timer: a stream that went quiet still gets its last messages checkpointed."""
        await self.cadence.when_idle()

    async def _on_revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        """A revoked partition's state goes; its unacked messages go to the new owner."""
        revoked: Iterable[Any] = kwargs.get("revoked", args[0] if args else set())
        gone = {tp.partition for tp in revoked if tp.topic in self._topics}
        for partition in gone:
            if self.partitions.pop(partition, None) is not None:
                self.dropped(partition)
        self.acks.forget(lambda tp: tp[1] in gone)
        self.sequence.forget(gone)
