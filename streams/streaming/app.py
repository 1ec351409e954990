"""The Faust worker: the app, its two agents wired explicitly, the live ticks and the gauges.

Design (see also ``headers`` and ``partition``):

* the rules agent (``rules_agent``) subscribes to ``bookings``, ``hits``, ``detainers`` and
  ``releases``; Faust assigns partition *p* of all four (and of the case table's changelog) to the same worker;
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
* the jurisdiction agent (``jurisdiction_agent``) reads the detainer facts the rules agent
  forwards, re-keyed by jurisdiction; both are :class:`agent.CheckpointedAgent` (message loop,
  delivery, checkpoint, in-order acks, barrier forwarding);
* every control header is signed (``control``): the worker signs its own ticks and the driver
  dead-letters unsigned or badly signed ones as ``forged_control``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from streams.engine.clock import Clock, SystemClock
from streams.kafka.settings import KafkaSettings
from streams.kafka.topics import TYPE_TO_TOPIC
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming import jurisdiction_agent
from streams.streaming.agent import AgentTiming, Outputs
from streams.streaming.jurisdiction_agent import JurisdictionAgent
from streams.streaming.rules_agent import RulesAgent
from streams.streaming.transport import HoldwatchApp, HoldwatchConsumer

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
    # How long the consumer's fetch waits on an idle partition (transport.py: the embedded
    # broker answers only after it, so it bounds a live deadline alert's latency there).
    fetch_max_wait: float = 0.5
    wall_clock: Clock = field(default_factory=SystemClock)
    # Outputs are delivered whenever the input buffer runs dry, or after this many messages...
    max_batch: int = 1000
    # ...but not before the run is this old (seconds): Faust hands over one message at a time,
    # so the buffer runs dry after nearly every one; see commit.Cadence. Adds at most this to
    # an alert's latency.
    delivery_linger: float = 0.05
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


class Worker:
    """Builds the Faust app for a config and wires its two agents; ``metrics`` (optional) are fed
    from them."""

    def __init__(self, config: WorkerConfig, metrics: WorkerMetrics | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.live = config.clock == "wall"
        # Built at start like the decoder: production without a control key stops here (exit 2).
        self.control = config.control or ctl.from_env()
        names = config.kafka.topics
        self.input_names = names.inputs
        self.app = self._build_app()
        self.rules, self.jurisdictions = self._wire_agents()
        if metrics is not None:
            metrics.started(self.live)

    # -- Faust wiring ------------------------------------------------------------------------

    def _build_app(self) -> HoldwatchApp:
        cfg = self.config
        app = HoldwatchApp(
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
        app.fetch_max_wait = cfg.fetch_max_wait
        if cfg.clock == "wall":
            app.timer(interval=cfg.tick_interval, on_leader=False)(self._tick)

        @app.task  # type: ignore[untyped-decorator]
        async def quiet_outage_logs() -> None:
            """After Faust configured logging: a broker outage is one "waiting for" line per
            10 s, not thousands of connection errors."""
            from streams.logging_setup import install

            install()

        app.timer(interval=2.0, on_leader=False)(self._rewind_lost)
        if self.metrics is not None:
            # Not Faust's Prometheus sensor: its per-message hooks cost 4-5% of the worker and
            # fed two panels, now fed by holdwatch_messages_received and holdwatch_rebalances.
            app.timer(interval=2.0, on_leader=False)(self._refresh_gauges)
        return app

    def _wire_agents(self) -> tuple[RulesAgent, JurisdictionAgent]:
        """The rules agent over the inputs, the jurisdiction agent over the facts it forwards;
        both write the same outputs and sign with the same key."""
        cfg, app = self.config, self.app
        names = cfg.kafka.topics
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        inputs = app.topic(*names.inputs, key_type=bytes, value_type=bytes, **raw)
        outputs = Outputs(
            alerts=app.topic(names.alerts, **raw),
            dead_letters=app.topic(names.dead_letters, **raw),
            control=self.control,
        )
        cases = app.Table(
            CASES_TABLE,
            default=None,
            partitions=cfg.kafka.partitions,
            key_type=bytes,  # bytes types make Faust use the raw codec, also in changelog recovery
            value_type=bytes,
        )
        facts = app.topic(
            jurisdiction_agent.facts_topic_name(cfg.kafka.topic_prefix),
            partitions=cfg.kafka.partitions,
            key_type=bytes,
            value_type=bytes,
            **raw,
        )
        timing = AgentTiming(
            checkpoint_interval=cfg.checkpoint_interval,
            max_batch=cfg.max_batch,
            checkpoint_messages=cfg.checkpoint_messages,
            linger=cfg.delivery_linger,
            changelog_sync=cfg.changelog_sync,
        )
        rules = RulesAgent(
            app,
            inputs,
            cases,
            outputs,
            timing,
            policy=cfg.policy,
            partitions=cfg.kafka.partitions,
            type_of_topic={names.name(base): kind for kind, base in TYPE_TO_TOPIC.items()},
            facts=jurisdiction_agent.facts_forwarder(
                facts, self.control, cfg.kafka.partitions, cfg.policy
            ),
            wall_clock=cfg.wall_clock if self.live else None,
            metrics=self.metrics,
        )
        juris = JurisdictionAgent(
            app,
            facts,
            outputs,
            timing,
            cfg.policy,
            cfg.kafka.partitions,
            metrics=self.metrics,
            live=self.live,
        )
        return rules, juris

    async def _refresh_gauges(self) -> None:
        """Gauges from the engines' state; reads only, so a timer may do it."""
        assert self.metrics is not None
        lags: dict[tuple[str, int], int] = {}
        consumer = self.app.consumer
        positions = self.rules.positions
        for tp in consumer.assignment():
            if tp.topic not in self.input_names:
                continue
            high = consumer.highwater(tp)
            if high is not None:
                done = positions.get((tp.topic, tp.partition), -1) + 1
                lags[(tp.topic, tp.partition)] = max(high - done, 0)
        drivers = list(self.rules.partitions.values())
        self.metrics.refresh(
            (case for d in drivers for case in d.engine.cases.values()),
            (d.watermark for d in drivers),
            lags,
            last_fetch_time(consumer),
        )
        self.metrics.rebalances.set(getattr(self.app, "rebalancing_count", 0))

    async def _rewind_lost(self) -> None:
        """A partition whose log the broker lost is read again from its start
        (``transport.HoldwatchConsumer.rewind_lost``); its unacked messages went with the log."""
        consumer = self.app.consumer
        if not isinstance(consumer, HoldwatchConsumer):
            return
        topics = self.rules.topics | self.jurisdictions.topics
        lost = {(tp.topic, tp.partition) for tp in await consumer.rewind_lost(topics)}
        if lost:
            if self.metrics is not None:
                self.metrics.reread.labels("lost_log").inc(len(lost))
            for agent in (self.rules, self.jurisdictions):
                agent.acks.forget(lost.__contains__)
            for key in lost:
                self.rules.positions.pop(key, None)

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
