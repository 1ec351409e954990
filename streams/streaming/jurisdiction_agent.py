"""The jurisdiction monitor in the Faust worker: a repartition by jurisdiction, watermarks in-band.

The rules agent runs one engine per input partition *p* (keyed by booking). Its detainer facts
(``streams/engine/share_monitor.py``) are re-keyed by jurisdiction onto the internal topic
``<prefix>jurisdiction-facts`` (same partition count; partition = Kafka's default partitioner on
the jurisdiction id). Event time travels in-band, as on the input topics:

* ``{"k": "r", "f": [[p, fact], ...], "w": {p: t, ...}}``: one delivery run of the rules agent,
  one message per facts partition *q* (``Forwarder.flush``): the run's facts whose jurisdiction
  hashes to *q*, then the watermark ``t`` each source *p* reached by the run's end (after all of
  *p*'s facts up to ``t``). It goes to *q* when the run has facts for *q*, and to every partition
  when a source's watermark crossed a local midnight of one of the policy's time zones (the only
  instants the monitor evaluates at). A run's per-fact and per-midnight messages before issue 15
  were ``{"k": "f", "p": p, "f": fact}`` and ``{"k": "w", "p": p, "w": t}``; they are still
  read (a facts topic written by an older worker may hold unconsumed ones at an upgrade);
* ``{"k": "b", "p": p, "w": t, "r": run}``: a replay barrier (start/end of ``replay --kafka``),
  also to every partition.

Every message is signed whole with the control key (``control.BodySigner``: ``hw-sig`` over
topic, partition and value); the agent dead-letters any other as ``forged_control``.

The jurisdiction agent keeps, per facts partition *q*, the last watermark of every source
partition; its watermark is their minimum (Flink's rule), so it evaluates a local midnight only
once every source has delivered every fact known before it. Its windows are event-time state of
its own (:class:`ShareMonitor`), kept in a changelog-backed Faust table (``jurisdictions``):
Faust's windowed tables expire by wall clock, so they are not used. With the monitor's
content-based counting rule this gives the in-process replay's alerts exactly.

Barriers: the rules agent forwards each completed run to the facts topic instead of writing the
alerts-topic barrier itself; :class:`JurisdictionAgent` writes it (partition *q*) once all sources
forwarded it, after its own alerts: ``replay --kafka`` then reads jurisdiction alerts too before
it stops. Both agents are :class:`streams.streaming.agent.CheckpointedAgent`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.types import EventT, TopicT

from streams.engine.alerts import Alert
from streams.engine.share_monitor import DetainerFact, Evaluated, ShareMonitor, local_day, midnight
from streams.engine.watermark import NEVER
from streams.observability.metrics import WorkerMetrics
from streams.policy.model import Policy
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.agent import AgentTiming, CheckpointedAgent, Outputs
from streams.streaming.merge import InputFrontier
from streams.streaming.partition import rejected_outcome
from streams.streaming.store import partition_of

if TYPE_CHECKING:
    from streams.streaming.app import WorkerConfig

log = logging.getLogger("holdwatch.jurisdictions")

FACTS_TOPIC = "jurisdiction-facts"
TABLE = "jurisdictions"


def facts_topic_name(prefix: str) -> str:
    return f"{prefix}{FACTS_TOPIC}"


def topic_names(config: WorkerConfig) -> list[str]:
    """Topics ``create_topics`` must create (all with the configured partition count)."""
    return [facts_topic_name(config.kafka.topic_prefix), f"{config.app_id}-{TABLE}-changelog"]


def zones_of(policy: Policy) -> list[str]:
    return sorted({policy.default_timezone, *(j.timezone for j in policy.jurisdictions.values())})


def next_midnight(at: int, zones: list[str]) -> int:
    """The first local midnight after ``at`` in any of ``zones``."""
    return min(midnight(local_day(at, z) + 1, z) for z in zones)


#: Facts per repartition message at most (a run holds up to ``max_batch`` input messages; this
#: keeps a message far below the brokers' 1 MB default whatever that is set to).
FACTS_PER_MESSAGE = 2000


class Forwarder:
    """Source side (sync; called from inside the engine): facts and watermarks to the topic,
    one message per facts partition per delivery run (:meth:`flush`), not one per fact."""

    def __init__(
        self, send: Callable[[bytes | None, bytes, int], None], partitions: int, policy: Policy
    ) -> None:
        self.send = send  # (key, value, partition): must keep the order of calls
        self.partitions = partitions
        self.zones = zones_of(policy)
        self._next: dict[int, int] = {}  # source partition -> next midnight worth announcing
        self._facts: dict[int, list[list[Any]]] = {}  # facts partition -> [[source, fact], ...]
        self._marks: dict[int, int] = {}  # source partition -> its watermark, this run
        self._announce = False  # a watermark crossed a midnight: every partition must hear it

    def fact(self, source: int, fact: DetainerFact) -> None:
        target = partition_of(fact.jurisdiction, self.partitions)
        self._facts.setdefault(target, []).append([source, fact.to_primitive()])

    def watermark(self, source: int, at: int) -> None:
        self._marks[source] = at
        due = self._next.get(source)
        if due is not None and at < due:
            return
        self._next[source] = next_midnight(at, self.zones)
        self._announce = True

    def flush(self) -> None:
        """The run's facts and watermarks out: to each facts partition that has facts, and to
        every partition when a source's watermark crossed a local midnight. Each message carries
        the sources' watermarks as of the end of the run, after all their facts of the run."""
        facts, marks, announce = self._facts, self._marks, self._announce
        self._facts, self._marks, self._announce = {}, {}, False
        targets = range(self.partitions) if announce else sorted(facts)
        watermarks = {str(p): at for p, at in marks.items()}
        for q in targets:
            mine = facts.get(q, [])
            step = FACTS_PER_MESSAGE
            chunks = [mine[i : i + step] for i in range(0, len(mine), step)] or [[]]
            for chunk in chunks[:-1]:
                self.send(None, orjson.dumps({"k": "r", "f": chunk, "w": {}}), q)
            self.send(None, orjson.dumps({"k": "r", "f": chunks[-1], "w": watermarks}), q)

    def barrier(self, source: int, run: str, at: int) -> None:
        self.flush()  # facts before the barrier that follows them
        self._broadcast({"k": "b", "p": source, "w": at, "r": run})

    def _broadcast(self, message: dict[str, Any]) -> None:
        value = orjson.dumps(message)
        for partition in range(self.partitions):
            self.send(None, value, partition)


class JurisdictionPartition:
    """Pure: one facts partition's sources, monitor and barriers. ``handle`` -> (alerts, runs)."""

    def __init__(
        self, partition: int, sources: int, policy: Policy, on_evaluate: Evaluated | None = None
    ) -> None:
        self.partition = partition
        self.sources: InputFrontier[int] = InputFrontier(range(sources))
        self.monitor = ShareMonitor(policy, on_evaluate)

    @property
    def watermark(self) -> int:
        return self.sources.watermark

    def handle(self, value: bytes) -> tuple[list[Alert], list[str]]:
        message = orjson.loads(value)
        kind = message["k"]
        completed: list[str] = []
        if kind == "r":  # a delivery run's facts, then the sources' watermarks after them
            for _, fact in message["f"]:
                self.monitor.add(DetainerFact.from_primitive(fact))
            for source, at in message["w"].items():
                self.sources.raise_floor(int(source), at)
        elif kind == "f":  # one fact (before issue 15: a facts topic may still hold some)
            self.monitor.add(DetainerFact.from_primitive(message["f"]))
            return [], []
        else:  # "w" (before issue 15, as "f") or "b"
            source = int(message["p"])
            self.sources.raise_floor(source, message["w"])
            if kind == "b" and self.sources.barrier(source, message["r"]):
                completed.append(message["r"])
        alerts = self.monitor.advance_to(self.watermark) if self.watermark != NEVER else []
        return alerts, completed

    # -- persistence ---------------------------------------------------------------------------

    def dirty_entries(self) -> list[tuple[bytes, bytes | None]]:
        """Table writes for what changed since the last call: the sources and each touched state."""
        out: list[tuple[bytes, bytes | None]] = []
        monitor = self.monitor
        for juris in sorted(monitor.dirty):
            snap = monitor.snapshot(juris)
            key = f"j:{juris}".encode()
            out.append(
                (key, None if snap is None else orjson.dumps({"q": self.partition, "s": snap}))
            )
        monitor.dirty.clear()
        sources = {str(p): w for p, w in self.sources.floors.items()}
        out.append(
            (
                f"w:{self.partition}".encode(),
                orjson.dumps({"q": self.partition, "w": sources, "m": monitor.watermark}),
            )
        )
        return out

    def restore(self, items: list[tuple[bytes, bytes]]) -> None:
        for raw_key, value in items:
            if value is None:
                continue
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            data = orjson.loads(value)
            if data.get("q") != self.partition:
                continue
            if key.startswith("j:"):
                self.monitor.restore(key[2:], data["s"])
            elif key.startswith("w:"):
                for p, w in data["w"].items():
                    self.sources.raise_floor(int(p), int(w))
                self.monitor.watermark = int(data["m"])


def facts_forwarder(
    facts: TopicT, control: ctl.ControlKey, partitions: int, policy: Policy
) -> Forwarder:
    """The rules agent's side: facts, watermarks and barriers onto ``facts`` (a Faust topic).

    Facts, watermarks and barriers travel in the body of this topic, which only workers write:
    each message is signed whole (``control.BodySigner``), and one that is not is a dead letter
    ``forged_control`` instead of moving a jurisdiction's clock or counts.
    """
    name = facts.get_topic_name()
    signer = ctl.BodySigner(control)

    def send(key: bytes | None, value: bytes, partition: int) -> None:
        headers = signer.sign(name, partition, value)
        facts.send_soon(key=key, value=value, partition=partition, headers=headers)

    return Forwarder(send, partitions, policy)


class JurisdictionAgent(CheckpointedAgent[JurisdictionPartition]):
    """The facts topic's agent: one :class:`JurisdictionPartition` per facts partition, its
    monitors' state in the ``jurisdictions`` table, its alerts and the alerts-topic barrier of
    every run (once all sources forwarded it, after its own alerts: ``replay --kafka`` then reads
    jurisdiction alerts too before it stops)."""

    def __init__(
        self,
        app: faust.App,
        facts: TopicT,
        outputs: Outputs,
        timing: AgentTiming,
        policy: Policy,
        partitions: int,
        metrics: WorkerMetrics | None = None,
        live: bool = False,
    ) -> None:
        table = app.Table(
            TABLE, default=None, partitions=partitions, key_type=bytes, value_type=bytes
        )
        super().__init__(app, "holdwatch-jurisdictions", facts, table, outputs, timing, metrics)
        self.policy = policy
        self.sources = partitions
        self.live = live
        self.facts_name = facts.get_topic_name()
        self.signer = ctl.BodySigner(outputs.control)

    def open(self, partition: int) -> JurisdictionPartition:
        on_evaluate = self.metrics.observe_share if self.metrics is not None else None
        found = JurisdictionPartition(partition, self.sources, self.policy, on_evaluate)
        found.restore(list(self.table.items()))
        log.info(
            "jurisdiction partition %d: %d jurisdictions recovered",
            partition,
            len(found.monitor.states),
        )
        return found

    def handle(self, state: JurisdictionPartition, event: EventT[bytes]) -> None:
        message = event.message
        q = message.partition
        self.settle(event)
        if self.observed is not None:
            self.observed.received(message.topic)
        try:
            self.signer.check(self.facts_name, q, message.value, hdr.pairs(message.headers))
        except ctl.ForgedControl as forged:
            where = {"topic": message.topic, "partition": q, "offset": message.offset}
            where["key"] = message.key
            dead = rejected_outcome(
                event, "unknown", message.value or b"", "forged_control", str(forged), where
            )
            assert dead.dead_letter is not None
            self.outbox.dead_letters.append((q, message.key, dead.dead_letter))
            if self.observed is not None:
                self.observed.observe(dead, perf_counter(), self.live)
            return
        alerts, runs = state.handle(message.value or b"")
        self.outbox.alerts.extend((q, alert, None) for alert in alerts)
        self.outbox.barriers.extend((run, q) for run in runs)

    def write_state(self, state: JurisdictionPartition) -> bool:
        write, partition = self.changelog.write, state.partition
        for key, value in state.dirty_entries():
            write(partition, key, value)
        return True  # the sources' watermarks at least

    async def forward_barrier(self, run: str, partition: int) -> None:
        await self.outputs.barrier(self.outputs.alerts, run, partition)

    def run_delivered(self) -> None:
        if self.observed is not None:
            self.observed.publish()


__all__ = [
    "Forwarder",
    "JurisdictionAgent",
    "JurisdictionPartition",
    "facts_forwarder",
    "topic_names",
]
