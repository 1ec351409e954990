"""``holdwatch replay --kafka``: produce a recorded log to the input topics, read the alerts back.

Protocol (see ``headers``): a start barrier proves every partition has a live worker before any
event is sent; each event carries the producer's watermark and is sent in the order the
producer's engine applied it (``stamp``: an event the event clock holds is sent when released, one
that ends as ``future`` is a producer-side dead letter); periodic ticks move idle partitions;
a final tick with an end barrier moves event time past the end (``--until``, or the newest applied
event) and marks, in each alerts and dead-letters partition, the point after which no alert of
this run can follow.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.contract.vocabulary import EVENT_TYPES
from streams.engine.watermark import NEVER
from streams.kafka.settings import KafkaSettings
from streams.policy.model import Policy
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.stamp import Stamped, Stamper
from streams.streaming.store import partition_of

TICK_EVERY_EVENTS = 1000
TICK_EVERY_SECONDS = 0.25

AlertCallback = Callable[[dict[str, Any]], None]


class ReplayTimeout(RuntimeError):
    """The workers (or the broker) did not answer in time."""


def connect(factory: Callable[[], Any], settings: KafkaSettings, timeout: float = 120.0) -> Any:
    """A kafka-python client, retried while the broker is unreachable (say so once in a while)."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    told = 0.0
    while True:
        try:
            return factory()
        except KafkaError as exc:
            now = time.monotonic()
            if now > deadline:
                raise ReplayTimeout(
                    f"Kafka at {','.join(settings.brokers)} not reachable for {timeout:.0f}s: {exc}"
                ) from None
            if now - told > 10:
                print(
                    f"waiting for Kafka at {','.join(settings.brokers)}: {exc}; retrying",
                    file=sys.stderr,
                )
                told = now
            time.sleep(1)


@dataclass
class KafkaReplaySummary:
    lines: int = 0
    produced: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicate_alerts: int = 0
    forged_output: int = 0  # output records ignored: unsigned barriers, not JSON
    seconds: float = 0.0
    # The producer's event clock: events held for corroboration, released, re-sends of held
    # events (duplicates, not sent); the others held are the dead letters ``future``.
    held: int = 0
    released: int = 0
    duplicates_of_held: int = 0

    def render(self) -> str:
        lines = ["holdwatch replay --kafka summary"]
        lines.append(f"  {'lines read':<28} {self.lines}")
        for kind, n in sorted(self.produced.items()):
            lines.append(f"  {'produced ' + kind:<28} {n}")
        lines.append(f"  {'dead letters':<28} {sum(self.dead_letters.values())}")
        for reason, n in sorted(self.dead_letters.items()):
            lines.append(f"    {reason:<26} {n}")
        if self.held:
            lines.append(f"  {'held for the event clock':<28} {self.held}")
            lines.append(f"    {'released (sent)':<26} {self.released}")
            lines.append(f"    {'future (dead letters)':<26} {self.dead_letters['future']}")
        if self.duplicates_of_held:
            lines.append(f"  {'re-sends of held (not sent)':<28} {self.duplicates_of_held}")
        lines.append(f"  {'re-delivered alerts dropped':<28} {self.duplicate_alerts}")
        if self.forged_output:
            lines.append(f"  {'forged output records ignored':<28} {self.forged_output}")
        lines.append(f"  {'seconds':<28} {self.seconds:.1f}")
        lines.append("  alerts by rule               firing  resolved")
        for rule in sorted({rule for rule, _ in self.alerts}):
            lines.append(
                f"    {rule:<26} {self.alerts[(rule, 'firing')]:>6}  {self.alerts[(rule, 'resolved')]:>8}"
            )
        return "\n".join(lines)


class OutputReader(threading.Thread):
    """Reads the alerts and dead-letters topics of one run, in a thread, until the end barrier."""

    def __init__(
        self,
        settings: KafkaSettings,
        run: str,
        on_alert: AlertCallback,
        on_dead: AlertCallback,
        control: ctl.ControlKey | None = None,
    ) -> None:
        super().__init__(name="holdwatch-alert-reader", daemon=True)
        from kafka import KafkaConsumer, TopicPartition

        # Barriers decide when this run's output is complete: only the workers' (signed) count.
        self.control = control or ctl.from_env()
        self.forged = 0  # barriers without a valid signature, and records that are no JSON
        self.settings = settings
        self.run_id = run
        self.on_alert = on_alert
        self.on_dead = on_dead
        names = settings.topics
        self.partitions = [
            TopicPartition(topic, p)
            for topic in (names.alerts, names.dead_letters)
            for p in range(settings.partitions)
        ]
        self.alerts_topic = names.alerts
        self.consumer = connect(
            lambda: KafkaConsumer(
                **settings.kafka_python_kwargs(), enable_auto_commit=False, group_id=None
            ),
            settings,
        )
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_end()
        # kafka-python resolves seek_to_end lazily, at the thread's first poll. A broker that has
        # just restarted answers ListOffsets late (NotLeaderForPartition until its partitions
        # load), by which time a worker may have answered the start barrier: read from the end
        # found then, the reader would wait for that answer in vain. Resolve the ends now,
        # before any tick is sent.
        for tp in self.partitions:
            self.consumer.position(tp, timeout_ms=30_000)
        self.started: set[Any] = set()
        self.ended: set[Any] = set()
        self.seen: set[tuple[str, str]] = set()
        self.duplicates = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self.last_record = time.monotonic()

    def run(self) -> None:
        try:
            while not self._halt.is_set() and len(self.ended) < len(self.partitions):
                batches = self.consumer.poll(timeout_ms=100, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self.last_record = time.monotonic()
                        self._handle(tp, record)
        except BaseException as exc:  # surfaced to the main thread
            self.error = exc
        finally:
            self.consumer.close()

    def _handle(self, tp: Any, record: Any) -> None:
        barrier = hdr.header(record.headers, hdr.BARRIER)
        if barrier is not None:
            try:
                self.control.check(tp.topic, tp.partition, record.headers)
            except ctl.ForgedControl:
                self.forged += 1  # a forged end barrier would end the run before its alerts
                return
            if barrier.decode() == f"start:{self.run_id}":
                self.started.add(tp)
            elif barrier.decode() == f"end:{self.run_id}":
                self.ended.add(tp)
            return
        if tp not in self.started or tp in self.ended:
            return  # another run's output
        try:
            body = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            self.forged += 1  # not written by a worker
            return
        if not isinstance(body, dict) or (
            tp.topic == self.alerts_topic and not {"alert_id", "state"} <= body.keys()
        ):
            self.forged += 1
            return
        if tp.topic == self.alerts_topic:
            alert = body
            key = (alert["alert_id"], alert["state"])
            if key in self.seen:  # at-least-once: a re-delivered alert has the same id and state
                self.duplicates += 1
                return
            self.seen.add(key)
            self.on_alert(alert)
        else:
            self.on_dead(body)

    def stop(self) -> None:
        self._halt.set()


class KafkaReplay:
    def __init__(
        self,
        settings: KafkaSettings,
        policy: Policy,
        speed: float | None = None,
        control: ctl.ControlKey | None = None,
    ) -> None:
        from kafka import KafkaProducer

        # Before connecting: a production replay without a control key stops here (exit 2).
        self.control = control or ctl.from_env()
        self.settings = settings
        self.policy = policy
        self.speed = speed
        self.run_id = uuid.uuid4().hex[:12]
        self.names = settings.topics
        self.producer = connect(
            lambda: KafkaProducer(
                **settings.kafka_python_kwargs(),
                acks=1,
                linger_ms=5,
                batch_size=256 * 1024,
                max_in_flight_requests_per_connection=1,  # ticks must stay behind their events
            ),
            settings,
        )
        self.stamper = Stamper(policy)
        self._topic_of = {kind: self.names.for_type(kind) for kind in EVENT_TYPES}
        self.summary = KafkaReplaySummary()

    def _ticks(self, at: int, barrier: str | None = None) -> None:
        headers = hdr.tick_headers(at, barrier)
        sign = self.control.sign
        for topic in self.names.inputs:
            for partition in range(self.settings.partitions):
                self.producer.send(
                    topic,
                    value=b"",
                    partition=partition,
                    headers=sign(topic, partition, headers),
                )

    def run(
        self,
        lines: Iterable[bytes],
        until: int | None,
        on_alert: AlertCallback,
        on_dead: AlertCallback,
        progress: Callable[[int], None] | None = None,
        start_timeout: float = 120.0,
        idle_timeout: float = 300.0,
    ) -> KafkaReplaySummary:
        started = time.monotonic()
        summary = self.summary

        def dead(record: dict[str, Any]) -> None:
            summary.dead_letters[record["reason"]] += 1
            on_dead(record)

        def alert(record: dict[str, Any]) -> None:
            summary.alerts[(record["rule"], record["state"])] += 1
            on_alert(record)

        reader = OutputReader(self.settings, self.run_id, alert, dead, self.control)
        reader.start()
        try:
            self._start_barrier(reader, start_timeout)
            self._produce(lines, dead, progress)
            released, end = self.stamper.finish(until)
            self._send(released, dead)
            stats = self.stamper.engine.stats
            summary.held, summary.released = stats.held, stats.released
            summary.duplicates_of_held = self.stamper.duplicates_of_held
            self._ticks(end, f"end:{self.run_id}")
            self.producer.flush()
            while reader.is_alive():
                reader.join(0.2)
                if time.monotonic() - reader.last_record > idle_timeout:
                    raise ReplayTimeout(
                        f"no output from the workers for {idle_timeout:.0f}s; "
                        f"{len(reader.ended)}/{len(reader.partitions)} partitions finished"
                    )
            if reader.error is not None:
                raise reader.error
        finally:
            reader.stop()
            self.producer.close(timeout=5)
        summary.duplicate_alerts = reader.duplicates
        summary.forged_output = reader.forged
        summary.seconds = time.monotonic() - started
        return summary

    def _start_barrier(self, reader: OutputReader, timeout: float) -> None:
        """Every partition has a worker that answers, before any event is sent."""
        deadline = time.monotonic() + timeout
        self._ticks(NEVER, f"start:{self.run_id}")
        self.producer.flush()
        while len(reader.started) < len(reader.partitions):
            if reader.error is not None:
                raise reader.error
            if time.monotonic() > deadline:
                missing = sorted(
                    {tp.partition for tp in reader.partitions}
                    - {tp.partition for tp in reader.started}
                )
                raise ReplayTimeout(
                    f"no worker answered for partitions {missing} within {timeout:.0f}s: is "
                    f"`holdwatch worker --clock event` running on this broker with prefix "
                    f"{self.settings.topic_prefix!r}?"
                )
            time.sleep(0.05)

    def _send(self, stamped: list[Stamped], dead: AlertCallback) -> None:
        send = self.producer.send
        produced = self.summary.produced
        topic_of = self._topic_of
        partitions = self.settings.partitions
        sign = self.control.sign
        for item in stamped:
            if item.event_type is None:
                assert item.dead_letter is not None
                dead(item.dead_letter)
                continue
            topic = topic_of[item.event_type]
            stamp = item.headers()
            if not stamp or item.key is None:
                send(topic, key=item.key, value=item.value)
            else:
                # The partition the default partitioner would pick, chosen here because the
                # signature covers it.
                partition = partition_of(item.key.decode(), partitions)
                send(
                    topic,
                    key=item.key,
                    value=item.value,
                    partition=partition,
                    headers=sign(topic, partition, stamp),
                )
            produced[item.event_type] += 1

    def _produce(
        self, lines: Iterable[bytes], dead: AlertCallback, progress: Callable[[int], None] | None
    ) -> None:
        stamper = self.stamper
        summary = self.summary
        last_tick = time.monotonic()
        pace_start: tuple[float, int] | None = None
        number = 0
        for raw in lines:
            number += 1
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            summary.lines += 1
            # Sent before any tick that pacing may write: a tick carries the watermark after this
            # line, and what this line releases is stamped with the one before it.
            self._send(stamper.stamp(line, number), dead)
            if self.speed is not None and stamper.event_time != NEVER:
                pace_start = self._pace(pace_start, stamper.event_time)
            now = time.monotonic()
            if summary.lines % TICK_EVERY_EVENTS == 0 or now - last_tick > TICK_EVERY_SECONDS:
                self._ticks(stamper.watermark)
                last_tick = now
                if progress is not None:
                    progress(summary.lines)
        if progress is not None:
            progress(summary.lines)

    def _pace(self, start: tuple[float, int] | None, event_time: int) -> tuple[float, int]:
        """Hold back so that event time advances ``speed`` times faster than the wall clock."""
        now = time.monotonic()
        if start is None:
            return (now, event_time)
        assert self.speed is not None
        due = start[0] + (event_time - start[1]) / 1_000_000 / self.speed
        while due > now:
            time.sleep(min(due - now, TICK_EVERY_SECONDS))
            now = time.monotonic()
            self._ticks(self.stamper.watermark)
        return start
