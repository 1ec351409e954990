"""The Faust worker: one agent over the four input topics, thin around :class:`PartitionDriver`.

Design (see also ``headers`` and ``partition``):

* one agent subscribes to ``bookings``, ``hits``, ``detainers`` and ``releases``; Faust assigns
  partition *p* of all four (and of the case table's changelog) to the same worker;
* per partition number a :class:`PartitionDriver` merges the four topic-partitions by in-band
  watermarks and calls the engine; its cases live in a Faust table (RocksDB in production,
  memory in tests) whose changelog a restarted or rebalanced worker recovers from;
* acks are manual: a message is acked only once the engine applied it, its alerts were
  delivered and the state it changed is in the changelog (``commit``), so one held back for the
  watermark merge, or processed after the last checkpoint, is redelivered after a crash
  (at-least-once; duplicates are dropped by ``event_id``, alerts carry deterministic ids);
* in live mode (``clock="wall"``) a Faust timer writes wall-clock ticks into every input
  topic-partition, so deadlines fire with no further events; timers cannot write tables, the
  agent that processes the ticks can;
* every control header is signed (``control``): the worker signs its own ticks and the driver
  dead-letters unsigned or badly signed ones as ``forged_control``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import faust
import orjson

from streams.contract.decode import Decoder
from streams.engine.clock import Clock, SystemClock
from streams.kafka.settings import KafkaSettings
from streams.kafka.topics import TYPE_TO_TOPIC
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from streams.streaming import commit
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.partition import PartitionDriver
from streams.streaming.store import TableStore

log = logging.getLogger("holdwatch.worker")

CASES_TABLE = "cases"


@dataclass
class WorkerConfig:
    kafka: KafkaSettings
    policy: Policy
    clock: str = "wall"  # "wall": live, ticks from the wall clock; "event": replay, event time only
    store: str = "memory://"
    data_dir: str | None = None
    live_lateness_us: int = 250_000
    tick_interval: float = 0.25
    # Group membership: Apache Kafka refuses a session timeout below its
    # group.min.session.timeout.ms (6 s by default) and aiokafka treats that as fatal, so the
    # defaults suit a real cluster; the embedded broker path passes EMBEDDED_TIMING (faster
    # rebalances after a crash).
    # End each checkpoint's changelog writes with a lone tombstone (commit.py): needed on the
    # embedded Tansu broker, whose latest offset is wrong for multi-record batches; Apache
    # Kafka's is exact, so ``--no-changelog-sync`` saves a record per partition and checkpoint.
    changelog_sync: bool = True
    session_timeout: float = 10.0
    heartbeat_interval: float = 3.0
    wall_clock: Clock = field(default_factory=SystemClock)
    # Outputs are delivered whenever the input buffer runs dry, or after this many messages.
    max_batch: int = 1000
    # State is checkpointed (changelog written, messages acked) at most this often; see commit.py.
    checkpoint_interval: float = 5.0  # Kafka Streams commits every 30 s, Faust every 2.8 s
    checkpoint_messages: int = 20_000
    # Signs this worker's live ticks and verifies every control header; None: from the environment.
    control: ctl.ControlKey | None = None

    @property
    def app_id(self) -> str:
        return self.kafka.topic_prefix.rstrip(".-_") or "holdwatch"

    @property
    def changelog_topic(self) -> str:
        return f"{self.app_id}-{CASES_TABLE}-changelog"


@dataclass
class _Outbox:
    """Outputs of processed messages not yet delivered."""

    # (partition, alert, received, the partition's watermark before the message)
    alerts: list[tuple[int, dict[str, Any], float, int]] = field(default_factory=list)
    dead_letters: list[tuple[int, Any, dict[str, Any]]] = field(default_factory=list)
    barriers: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Uncheckpointed:
    """Messages processed (their outputs delivered or in the outbox) but not yet acked."""

    touched: dict[int, tuple[PartitionDriver, Any]] = field(default_factory=dict)


class Worker:
    """Builds the Faust app for a config; ``metrics`` (optional) are fed from the agent."""

    def __init__(self, config: WorkerConfig, metrics: WorkerMetrics | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.live = config.clock == "wall"
        self.positions: dict[tuple[str, int], int] = {}  # last processed offset per input tp
        self.drivers: dict[int, PartitionDriver] = {}
        self.decoder = Decoder()
        # Built at start like the decoder: production without a control key stops here (exit 2).
        self.control = config.control or ctl.from_env()
        self._alerts: list[dict[str, Any]] = []  # emitted by the engines, drained by the agent
        self._outbox = _Outbox()
        self._pending = _Uncheckpointed()
        self._acks = commit.InOrderAcks()  # settled messages, acked in offset order per tp
        self._cadence = commit.Cadence(
            self._deliver,
            self._checkpoint,
            interval=config.checkpoint_interval,
            max_batch=config.max_batch,
            max_messages=config.checkpoint_messages,
        )
        self._stream: Any = None
        names = config.kafka.topics
        self.input_names = names.inputs
        self.type_of_topic = {names.name(base): kind for kind, base in TYPE_TO_TOPIC.items()}
        self.app = self._build_app()
        if metrics is not None:
            metrics.started(self.live)
        # The per-jurisdiction monitor: a repartition by jurisdiction and its own agent.
        from streams.streaming import jurisdiction_agent

        jurisdiction_agent.install(self, metrics.observe_share if metrics is not None else None)

    # -- Faust wiring ------------------------------------------------------------------------

    def _build_app(self) -> faust.App:
        cfg = self.config
        app = faust.App(
            cfg.app_id,
            **cfg.kafka.faust_kwargs(),
            store=cfg.store,
            # Default: the machine's (container's) temporary directory, so TMPDIR moves it and
            # two runs in separate temporary directories never share a RocksDB.
            datadir=cfg.data_dir
            or os.path.join(tempfile.gettempdir(), f"holdwatch-{cfg.app_id}-data"),
            topic_partitions=cfg.kafka.partitions,
            topic_allow_declare=True,
            processing_guarantee="at_least_once",
            broker_session_timeout=cfg.session_timeout,
            broker_heartbeat_interval=cfg.heartbeat_interval,
            web_enabled=False,
            producer_linger=0.0,
            # Tansu's wrong "latest offset" for multi-record batches is handled by syncing the
            # changelog at every commit (streams/streaming/commit.py), so records may batch.
            stream_wait_empty=False,
        )
        names = cfg.kafka.topics
        inputs = app.topic(
            *names.inputs,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.alerts_topic = app.topic(names.alerts, key_serializer="raw", value_serializer="raw")
        self.dead_topic = app.topic(
            names.dead_letters, key_serializer="raw", value_serializer="raw"
        )
        self.cases = app.Table(
            CASES_TABLE,
            default=None,
            partitions=cfg.kafka.partitions,
            key_type=bytes,  # bytes types make Faust use the raw codec, also in changelog recovery
            value_type=bytes,
        )
        app.agent(inputs, name="holdwatch-rules")(self._agent)
        if cfg.clock == "wall":
            app.timer(interval=cfg.tick_interval, on_leader=False)(self._tick)
        app.timer(interval=cfg.checkpoint_interval / 2, on_leader=False)(self._checkpoint_if_idle)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

        @app.task  # type: ignore[untyped-decorator]
        async def quiet_outage_logs() -> None:
            """After Faust configured logging: a broker outage is one "waiting for" line per
            10 s, not thousands of connection errors."""
            from streams.logging_setup import install

            install()

        if self.metrics is not None:
            from faust.sensors.prometheus import setup_prometheus_sensors

            setup_prometheus_sensors(app, registry=self.metrics.registry, name_prefix=cfg.app_id)
            app.timer(interval=2.0, on_leader=False)(self._refresh_gauges)
        return app

    async def _refresh_gauges(self) -> None:
        """Gauges from the engines' state; reads only, so a timer may do it."""
        assert self.metrics is not None
        lags: dict[tuple[str, int], int] = {}
        consumer = self.app.consumer
        for tp in consumer.assignment():
            if tp.topic not in self.input_names:
                continue
            high = consumer.highwater(tp)
            if high is not None:
                done = self.positions.get((tp.topic, tp.partition), -1) + 1
                lags[(tp.topic, tp.partition)] = max(high - done, 0)
        drivers = list(self.drivers.values())
        self.metrics.refresh(
            (case for d in drivers for case in d.engine.cases.values()),
            (d.watermark for d in drivers),
            lags,
            last_fetch_time(consumer),
        )

    async def _on_revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        """A revoked partition's engine goes; its unacked messages go to the new owner."""
        revoked: set[Any] = kwargs.get("revoked", args[0] if args else set())
        gone = {tp.partition for tp in revoked}
        for partition in gone:
            self.drivers.pop(partition, None)
        self._acks.forget(lambda tp: tp[1] in gone)

    def driver(self, partition: int) -> PartitionDriver:
        driver = self.drivers.get(partition)
        if driver is None:
            store = TableStore(self.cases, partition, self.config.kafka.partitions)
            driver = PartitionDriver(
                partition,
                self.input_names,
                self.config.policy,
                self._alerts.append,
                store,
                self.decoder,
                self.type_of_topic,
                wall_clock=self.config.wall_clock if self.live else None,
                control=self.control,
            )
            driver.engine.rebuild_timers()
            self.drivers[partition] = driver
            log.info("partition %d: %d cases recovered", partition, len(store))
        return driver

    async def _agent(self, stream: Any) -> None:
        """Process each message at once; deliver outputs whenever the buffer runs dry; checkpoint
        state and acks every ``checkpoint_interval`` (``commit.py`` says why in that order)."""
        self._stream = stream.noack()
        await self._cadence.drive(self._stream, self._process)

    def _process(self, event: Any) -> None:
        """One message through its partition's driver; outputs to the outbox (no I/O here)."""
        received = perf_counter()
        message = event.message
        partition = message.partition
        driver = self.driver(partition)
        clock_before = driver.engine.watermark.value  # tells deadline alerts from late events
        acks = self._acks
        acks.received((message.topic, partition), message.offset)
        key = (
            message.key
            if message.key is None or isinstance(message.key, bytes)
            else bytes(message.key)
        )
        outcomes, barriers = driver.on_message(
            message.topic, key, message.value, message.headers, message.offset, event, received
        )
        decided = perf_counter()
        self.positions[(message.topic, partition)] = message.offset
        outbox, pending = self._outbox, self._pending
        pending.touched[partition] = (driver, event)
        for alert in self._alerts:
            outbox.alerts.append((partition, alert, received, clock_before))
        self._alerts.clear()
        metrics, live = self.metrics, self.live
        for outcome in outcomes:
            if outcome.dead_letter is not None:
                outbox.dead_letters.append((partition, message.key, outcome.dead_letter))
            if metrics is not None:
                metrics.observe(outcome, decided, live)
            settled = outcome.token.message
            acks.settled((settled.topic, settled.partition), settled.offset, outcome.token)
        outbox.barriers.extend((run, partition) for run in barriers)

    async def _deliver(self) -> None:
        """Alerts and dead letters out and acknowledged by the broker, then the barriers."""
        outbox, self._outbox = self._outbox, _Outbox()
        metrics = self.metrics
        sent: list[tuple[Any, dict[str, Any] | None, float, int]] = []
        for partition, alert, received, clock_before in outbox.alerts:
            delivered = await self.alerts_topic.send(
                key=alert["booking_id"].encode() or None,
                value=orjson.dumps(alert),
                partition=partition,
            )
            sent.append((delivered, alert, received, clock_before))
        for partition, key, record in outbox.dead_letters:
            delivered = await self.dead_topic.send(
                key=key, value=orjson.dumps(record), partition=partition
            )
            sent.append((delivered, None, 0.0, 0))
        for delivered, maybe_alert, received, clock_before in sent:
            await delivered
            if metrics is not None and maybe_alert is not None:
                metrics.observe_alert(
                    maybe_alert, received, perf_counter(), self.live, clock_before
                )
        for run, partition in outbox.barriers:
            if partition in self.drivers:
                await self._send_barrier(run, partition)

    async def _checkpoint(self) -> None:
        """Changed cases to the table, changelog synced, then the messages acked (in offset
        order per topic-partition, :class:`commit.InOrderAcks`).

        Only after :meth:`_deliver`: a case never records an alert as sent before it is.
        """
        pending, self._pending = self._pending, _Uncheckpointed()
        # A partition revoked meanwhile is someone else's now: its messages stay unacked.
        mine = {p for p, (driver, _) in pending.touched.items() if self.drivers.get(p) is driver}
        written = []
        for partition in mine:
            driver, event = pending.touched[partition]
            with commit.acting_for(event):
                if driver.engine.cases.flush():  # type: ignore[attr-defined]
                    written.append(partition)
        await commit.sync_changelog(
            self.app, self.cases, written, tombstones=self.config.changelog_sync
        )
        for token in self._acks.ackable(lambda tp: tp[1] in mine):
            await self._stream.ack(token)

    async def _checkpoint_if_idle(self) -> None:
        """Timer: a stream that went quiet still gets its last messages checkpointed."""
        await self._cadence.when_idle()

    async def _send_barrier(self, run: str, partition: int) -> None:
        """After this partition's alerts and dead letters, so a reader knows it has them all."""
        marker = [(hdr.BARRIER, run.encode())]
        for topic in (self.alerts_topic, self.dead_topic):
            headers = self.control.sign(topic.get_topic_name(), partition, marker)
            await topic.send(value=b"", partition=partition, headers=headers)

    async def _tick(self) -> None:
        """Live mode: tell every input topic-partition how far the wall clock is."""
        now = self.config.wall_clock.now() - self.config.live_lateness_us
        headers = hdr.tick_headers(now)
        sign = self.control.sign
        producer = self.app.producer
        sends = [
            producer.send(topic, None, b"", partition, None, sign(topic, partition, headers))
            for topic in self.input_names
            for partition in range(self.config.kafka.partitions)
        ]
        await asyncio.gather(*sends)


def last_fetch_time(consumer: Any) -> float | None:
    """Unix time of the newest successful fetch response over this worker's partitions, or None.

    aiokafka records it per partition (``AIOKafkaConsumer.last_poll_timestamp``, updated by every
    fetch response, records or not, so an idle but connected worker stays fresh); Faust keeps
    its aiokafka consumer on its consumer thread, the one private step here. While the broker is
    unreachable no response comes and the value ages: ``BrokerUnreachable`` and
    ``holdwatch health`` read that age. None before the first response after an assignment.
    """
    client = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    if client is None:
        return None
    newest: int | None = None
    try:
        for tp in client.assignment():
            at = client.last_poll_timestamp(tp)
            if at is not None and (newest is None or at > newest):
                newest = at
    except (AssertionError, RuntimeError):  # a rebalance on the consumer thread meanwhile
        return None
    return None if newest is None else newest / 1000
