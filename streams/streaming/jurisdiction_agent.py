"""The jurisdiction monitor in the Faust worker: a repartition by jurisdiction, watermarks in-band.

The rules agent runs one engine per input partition *p* (keyed by booking). Its detainer facts
(``streams/engine/share_monitor.py``) are re-keyed by jurisdiction onto the internal topic
``<prefix>jurisdiction-facts`` (same partition count; partition = Kafka's default partitioner on
the jurisdiction id). Event time travels in-band, as on the input topics:

* ``{"k": "f", "p": p, "f": fact}``: a fact, sent to its jurisdiction's partition;
* ``{"k": "w", "p": p, "w": t}``: source partition *p*'s engine watermark reached ``t``, sent to
  every partition, after the facts *p* reported up to ``t`` (one FIFO producer buffer), and only
  when ``t`` crosses a local midnight of one of the policy's time zones (the only instants the
  monitor evaluates at), so a replay costs a few messages per source and day;
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

Barriers: :func:`install` wraps the worker's barrier writer so that the alerts-topic barrier of a
run is written by the jurisdiction agent (partition *q*) once all sources forwarded it, after its
own alerts: ``replay --kafka`` then reads jurisdiction alerts too before it stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import faust
import orjson

from streams.contract.dead_letters import dead_letter
from streams.engine.alerts import Alert
from streams.engine.share_monitor import DetainerFact, Evaluated, ShareMonitor, local_day, midnight
from streams.engine.watermark import NEVER
from streams.policy.model import Policy
from streams.streaming import commit
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.partition import Outcome
from streams.streaming.store import partition_of

log = logging.getLogger("holdwatch.jurisdictions")

FACTS_TOPIC = "jurisdiction-facts"
TABLE = "jurisdictions"


def facts_topic_name(prefix: str) -> str:
    return f"{prefix}{FACTS_TOPIC}"


def topic_names(config: Any) -> list[str]:
    """Topics ``create_topics`` must create (all with the configured partition count)."""
    return [facts_topic_name(config.kafka.topic_prefix), f"{config.app_id}-{TABLE}-changelog"]


def zones_of(policy: Policy) -> list[str]:
    return sorted({policy.default_timezone, *(j.timezone for j in policy.jurisdictions.values())})


def next_midnight(at: int, zones: list[str]) -> int:
    """The first local midnight after ``at`` in any of ``zones``."""
    return min(midnight(local_day(at, z) + 1, z) for z in zones)


class Forwarder:
    """Source side (sync; called from inside the engine): facts and watermarks to the topic."""

    def __init__(
        self, send: Callable[[bytes | None, bytes, int], None], partitions: int, policy: Policy
    ) -> None:
        self.send = send  # (key, value, partition): must keep the order of calls
        self.partitions = partitions
        self.zones = zones_of(policy)
        self._next: dict[int, int] = {}  # source partition -> next midnight worth announcing

    def fact(self, source: int, fact: DetainerFact) -> None:
        value = orjson.dumps({"k": "f", "p": source, "f": fact.to_primitive()})
        self.send(
            fact.jurisdiction.encode(), value, partition_of(fact.jurisdiction, self.partitions)
        )

    def watermark(self, source: int, at: int) -> None:
        due = self._next.get(source)
        if due is not None and at < due:
            return
        self._next[source] = next_midnight(at, self.zones)
        self._broadcast({"k": "w", "p": source, "w": at})

    def barrier(self, source: int, run: str, at: int) -> None:
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
        self.sources: dict[int, int] = dict.fromkeys(range(sources), NEVER)
        self.monitor = ShareMonitor(policy, on_evaluate)
        self.barriers: dict[str, set[int]] = {}

    @property
    def watermark(self) -> int:
        return min(self.sources.values(), default=NEVER)

    def handle(self, value: bytes) -> tuple[list[Alert], list[str]]:
        message = orjson.loads(value)
        kind = message["k"]
        source = int(message["p"])
        if kind == "f":
            self.monitor.add(DetainerFact.from_primitive(message["f"]))
            return [], []
        completed: list[str] = []
        if message["w"] > self.sources.get(source, NEVER):
            self.sources[source] = message["w"]
        if kind == "b":
            seen = self.barriers.setdefault(message["r"], set())
            seen.add(source)
            if seen >= self.sources.keys():
                del self.barriers[message["r"]]
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
        sources = {str(p): w for p, w in self.sources.items()}
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
                    self.sources[int(p)] = max(self.sources.get(int(p), NEVER), int(w))
                self.monitor.watermark = int(data["m"])


@dataclass
class _Pending:
    """Facts-topic messages processed but not yet checkpointed (outputs maybe not delivered)."""

    touched: dict[int, tuple[JurisdictionPartition, Any]] = field(default_factory=dict)
    writes: dict[int, dict[bytes, bytes | None]] = field(default_factory=dict)
    alerts: list[tuple[int, Alert]] = field(default_factory=list)
    runs: list[tuple[int, str]] = field(default_factory=list)
    dead: list[tuple[int, Any, dict[str, Any]]] = field(default_factory=list)
    acks: list[tuple[int, Any]] = field(default_factory=list)


def install(worker: Any, on_evaluate: Evaluated | None = None) -> None:
    """Add the repartition, the jurisdiction agent and its table to ``worker.app``.

    Call it once ``worker.app`` exists and before the app starts. ``on_evaluate(jurisdiction,
    midnight, share, count)`` is called at every evaluation (gauges).
    """
    app: faust.App = worker.app
    cfg = worker.config
    partitions = cfg.kafka.partitions
    policy: Policy = cfg.policy
    facts = app.topic(
        facts_topic_name(cfg.kafka.topic_prefix),
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    table = app.Table(TABLE, default=None, partitions=partitions, key_type=bytes, value_type=bytes)
    worker.jurisdiction_facts_topic = facts
    worker.jurisdiction_table = table

    # Facts, watermarks and barriers travel in the body of this topic, which only workers write:
    # each message is signed whole (``control.BodySigner``), and one that is not is a dead letter
    # ``forged_control`` instead of moving a jurisdiction's clock or counts.
    facts_name = facts_topic_name(cfg.kafka.topic_prefix)
    signer = ctl.BodySigner(worker.control)

    def send(key: bytes | None, value: bytes, partition: int) -> None:
        headers = signer.sign(facts_name, partition, value)
        facts.send_soon(key=key, value=value, partition=partition, headers=headers)

    forwarder = Forwarder(send, partitions, policy)
    worker.jurisdiction_forwarder = forwarder

    # Source side: every new partition driver reports its facts and watermark moves.
    original_driver = worker.driver

    def driver(partition: int) -> Any:
        fresh = partition not in worker.drivers
        made = original_driver(partition)
        if fresh:
            made.engine.on_fact = lambda fact, p=partition: forwarder.fact(p, fact)
            made.on_watermark = lambda at, p=partition: forwarder.watermark(p, at)
        return made

    worker.driver = driver

    # Barriers: dead letters as before; the alerts barrier goes through the jurisdiction agent.
    async def send_barrier(run: str, partition: int) -> None:
        made = worker.drivers.get(partition)
        at = made.engine.watermark.value if made is not None else NEVER
        await app.producer.flush()  # this partition's alerts and facts are written before it
        forwarder.barrier(partition, run, at)
        marker = [(hdr.BARRIER, run.encode())]
        dead = worker.dead_topic
        await dead.send(
            value=b"",
            partition=partition,
            headers=worker.control.sign(dead.get_topic_name(), partition, marker),
        )

    worker._send_barrier = send_barrier

    parts: dict[int, JurisdictionPartition] = {}
    worker.jurisdiction_partitions = parts

    def part(q: int) -> JurisdictionPartition:
        found = parts.get(q)
        if found is None:
            found = parts[q] = JurisdictionPartition(q, partitions, policy, on_evaluate)
            found.restore(list(table.items()))
            log.info(
                "jurisdiction partition %d: %d jurisdictions recovered",
                q,
                len(found.monitor.states),
            )
        return found

    state: dict[str, Any] = {"pending": _Pending(), "stream": None}

    async def agent(stream: Any) -> None:
        """Like the rules agent (``commit.py``): alerts and barriers delivered whenever the
        buffer runs dry; the monitors' state written, synced and the messages acked at each
        checkpoint."""
        state["stream"] = stream.noack()
        await cadence.drive(state["stream"], process)

    def process(event: Any) -> None:
        pending: _Pending = state["pending"]
        message = event.message
        q = message.partition
        jp = part(q)
        try:
            signer.check(facts_name, q, message.value, message.headers)
        except ctl.ForgedControl as forged:
            record = dead_letter(
                message.value or b"",
                "forged_control",
                str(forged),
                topic=message.topic,
                partition=q,
                offset=message.offset,
                key=message.key,
            )
            pending.dead.append((q, message.key, record))
            pending.touched[q] = (jp, event)
            pending.acks.append((q, event))
            if worker.metrics is not None:
                outcome = Outcome(event, "unknown", "dead_letter", dead_letter=record)
                worker.metrics.observe(outcome, perf_counter(), worker.live)
            return
        alerts, runs = jp.handle(message.value)
        pending.writes.setdefault(q, {}).update(jp.dirty_entries())
        pending.touched[q] = (jp, event)
        pending.alerts.extend((q, alert) for alert in alerts)
        pending.runs.extend((q, run) for run in runs)
        pending.acks.append((q, event))

    async def deliver() -> None:
        pending: _Pending = state["pending"]
        alerts, runs, dead = pending.alerts, pending.runs, pending.dead
        pending.alerts, pending.runs, pending.dead = [], [], []
        sent = [
            await worker.alerts_topic.send(key=None, value=orjson.dumps(alert), partition=q)
            for q, alert in alerts
        ]
        sent += [
            await worker.dead_topic.send(key=key, value=orjson.dumps(record), partition=q)
            for q, key, record in dead
        ]
        for delivered in sent:
            await delivered
        for q, run in runs:
            if q in parts:
                marker = [(hdr.BARRIER, run.encode())]
                alerts_topic = worker.alerts_topic
                await alerts_topic.send(
                    value=b"",
                    partition=q,
                    headers=worker.control.sign(alerts_topic.get_topic_name(), q, marker),
                )

    async def checkpoint() -> None:
        pending: _Pending = state["pending"]
        state["pending"] = _Pending()
        mine = {q for q, (jp, _) in pending.touched.items() if parts.get(q) is jp}
        for q in mine:
            with commit.acting_for(pending.touched[q][1]):
                for key, value in pending.writes.get(q, {}).items():
                    if value is None:
                        table.pop(key, None)
                    else:
                        table[key] = value
        await commit.sync_changelog(
            app, table, (q for q in mine if pending.writes.get(q)), tombstones=cfg.changelog_sync
        )
        for q, event in pending.acks:
            if q in mine:
                await state["stream"].ack(event)

    cadence = commit.Cadence(
        deliver,
        checkpoint,
        interval=cfg.checkpoint_interval,
        max_batch=cfg.max_batch,
        max_messages=cfg.checkpoint_messages,
    )

    async def checkpoint_jurisdictions_if_idle() -> None:
        await cadence.when_idle()

    app.timer(interval=cfg.checkpoint_interval / 2, on_leader=False)(
        checkpoint_jurisdictions_if_idle
    )
    app.agent(facts, name="holdwatch-jurisdictions")(agent)

    async def on_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        for tp in revoked:
            if tp.topic == facts.get_topic_name():
                parts.pop(tp.partition, None)

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]


__all__ = ["Forwarder", "JurisdictionPartition", "install", "topic_names"]
