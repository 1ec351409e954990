"""The per-booking agent: the four input topics through one :class:`PartitionDriver` per partition.

Faust assigns partition *p* of all four input topics (and of the case table's changelog) to the
same worker; the driver merges them by in-band watermarks and calls the engine, whose cases live
in the changelog-backed ``cases`` table (``store``). Its detainer facts and watermark moves go to
the jurisdiction agent (``jurisdiction_agent.Forwarder``), and so does each completed replay
barrier: the jurisdiction agent writes the alerts-topic barrier after its own alerts, this agent
the dead-letters one. Delivery, checkpoint and acks are the shape's (``agent``).
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

import faust
from faust.types import EventT, TableT, TopicT

from streams.contract.decode import Decoder
from streams.engine.alerts import Alert
from streams.engine.clock import Clock
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from streams.streaming import headers as hdr
from streams.streaming.agent import AgentTiming, CheckpointedAgent, Outputs
from streams.streaming.jurisdiction_agent import Forwarder
from streams.streaming.partition import PartitionDriver
from streams.streaming.store import TableStore

log = logging.getLogger("holdwatch.worker")


class RulesAgent(CheckpointedAgent[PartitionDriver]):
    """``holdwatch-rules``: events in; alerts, dead letters and facts out; cases checkpointed."""

    def __init__(
        self,
        app: faust.App,
        inputs: TopicT,
        cases: TableT[bytes, bytes],
        outputs: Outputs,
        timing: AgentTiming,
        *,
        policy: Policy,
        partitions: int,
        type_of_topic: dict[str, str],
        facts: Forwarder,
        wall_clock: Clock | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        super().__init__(app, "holdwatch-rules", inputs, cases, outputs, timing, metrics)
        self.policy = policy
        self.partition_count = partitions
        self.input_names = list(inputs.topics)
        self.type_of_topic = type_of_topic
        self.facts = facts
        self.wall_clock = wall_clock  # live mode only
        self.live = wall_clock is not None
        self.decoder = Decoder()
        self.positions: dict[tuple[str, int], int] = {}  # last processed offset per input tp
        self._alerts: list[Alert] = []  # emitted by the engines, drained by ``handle``

    def open(self, partition: int) -> PartitionDriver:
        store = TableStore(self.changelog, partition, self.partition_count)
        facts = self.facts
        driver = PartitionDriver(
            partition,
            self.input_names,
            self.policy,
            self._alerts.append,
            store,
            self.decoder,
            self.type_of_topic,
            on_fact=lambda fact: facts.fact(partition, fact),
            on_watermark=lambda at: facts.watermark(partition, at),
            wall_clock=self.wall_clock,
            control=self.outputs.control,
        )
        driver.engine.rebuild_timers()
        log.info("partition %d: %d cases recovered", partition, len(store))
        return driver

    def handle(self, state: PartitionDriver, event: EventT[bytes]) -> None:
        received = perf_counter()
        message = event.message
        partition = message.partition
        clock_before = state.engine.watermark.value  # tells deadline alerts from late events
        key = (
            message.key
            if message.key is None or isinstance(message.key, bytes)
            else bytes(message.key)
        )
        outcomes, barriers = state.on_message(
            message.topic,
            key,
            message.value,
            hdr.pairs(message.headers),
            message.offset,
            event,
            received,
        )
        decided = perf_counter()
        self.positions[(message.topic, partition)] = message.offset
        outbox = self.outbox
        for alert in self._alerts:
            outbox.alerts.append((partition, alert, (received, clock_before)))
        self._alerts.clear()
        observed, live = self.observed, self.live
        if observed is not None:
            observed.received(message.topic)
        for outcome in outcomes:
            if outcome.dead_letter is not None:
                outbox.dead_letters.append((partition, message.key, outcome.dead_letter))
            if observed is not None:
                observed.observe(outcome, decided, live)
            self.settle(outcome.token)
        outbox.barriers.extend((run, partition) for run in barriers)

    def delivered(self, alert: Alert, context: Any) -> None:
        if self.observed is not None:
            received, clock_before = context
            self.observed.observe_alert(alert, received, perf_counter(), self.live, clock_before)

    def run_processed(self) -> None:
        self.facts.flush()  # one facts message per facts partition for the run

    def run_delivered(self) -> None:
        if self.observed is not None:
            self.observed.publish()

    def write_state(self, state: PartitionDriver) -> bool:
        return bool(state.engine.cases.flush())  # type: ignore[attr-defined]

    async def forward_barrier(self, run: str, partition: int) -> None:
        """The dead-letters barrier now; the alerts one through the jurisdiction agent, after
        this partition's alerts and facts are written."""
        driver = self.partitions[partition]
        await self.app.producer.flush()
        self.facts.barrier(partition, run, driver.engine.watermark.value)
        await self.outputs.barrier(self.outputs.dead_letters, run, partition)
