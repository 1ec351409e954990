"""Test helpers shared by the suites: an event builder that reads like a case file, and a
one-call in-process replay."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from streams.replay.summary import ReplaySummary

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def local(text: str, zone: str = "America/New_York") -> str:
    """'2011-10-04 10:00' in ``zone`` -> RFC 3339 with that zone's offset at that moment."""
    moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    return moment.isoformat()


class Events:
    """Builds the events of one booking; times are local wall-clock strings of its zone."""

    _ids = itertools.count(1)

    def __init__(self, booking_id: str = "bk-1", zone: str = "America/New_York") -> None:
        self.booking_id = booking_id
        self.zone = zone

    def _base(self, kind: str, at: str) -> dict[str, Any]:
        return {
            "type": kind,
            "event_id": f"{self.booking_id}-ev{next(self._ids)}",
            "booking_id": self.booking_id,
            "occurred_at": local(at, self.zone) if "T" not in at else at,
        }

    def booking(
        self,
        at: str,
        jurisdiction: str = "NY-NewYorkCity",
        charges: list[tuple[str, str]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        pairs = charges or [("felony", "drug")]
        return (
            self._base("booking", at)
            | {
                "person_id": f"p-{self.booking_id}",
                "jurisdiction": jurisdiction,
                "charges": [
                    {"code": f"C{i}", "severity": s, "category": c}
                    for i, (s, c) in enumerate(pairs)
                ],
            }
            | extra
        )

    def hit(self, at: str, status: str = "no_lawful_status", level: str = "L1") -> dict[str, Any]:
        return self._base("hit", at) | {
            "database": "IDENT",
            "status": status,
            "conviction_level": level,
        }

    def detainer(
        self, at: str, action: str = "issued", form: str = "I-247-2011", detainer_id: str = "dt-1"
    ) -> dict[str, Any]:
        event = self._base("detainer", at) | {"detainer_id": detainer_id, "action": action}
        if action == "issued":
            event["form"] = form
        return event

    def release(self, at: str, phase: str = "released") -> dict[str, Any]:
        return self._base("release", at) | {"phase": phase}


def two_detainers(
    ev: Events, lift_first: str | None, custody_end: str | None
) -> list[dict[str, Any]]:
    """Booked Mon, two 2011 detainers issued together and served, eligible Tue 10:00: both
    deadlines are Thu 2011-10-06 10:00."""
    events = [
        ev.booking("2011-10-03 08:00"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00", detainer_id="dt-1"),
        ev.detainer("2011-10-03 10:00", detainer_id="dt-2"),
        ev.detainer("2011-10-03 12:00", action="served", detainer_id="dt-1"),
        ev.detainer("2011-10-03 12:00", action="served", detainer_id="dt-2"),
        ev.release("2011-10-04 10:00", "eligible"),
    ]
    if lift_first:
        events.append(ev.detainer(lift_first, action="lifted", detainer_id="dt-1"))
    if custody_end:
        events.append(ev.release(custody_end, "transferred_to_ice"))
    return events


def served_hold(booking_id: str, eligible: int) -> list[tuple[str, dict[str, Any]]]:
    """(topic, event) of a person held on a served 2017-form detainer, release-eligible at
    ``eligible`` (µs since the epoch): the hold limit passes 48 elapsed hours later."""
    from streams.contract import timestamps

    ev = Events(booking_id, "America/New_York")
    at = timestamps.isoformat
    hour = timestamps.HOUR
    return [
        ("bookings", ev.booking(at(eligible - 30 * hour))),
        ("hits", ev.hit(at(eligible - 29 * hour))),
        ("detainers", ev.detainer(at(eligible - 28 * hour), form="I-247A-2017")),
        ("detainers", ev.detainer(at(eligible - 27 * hour), action="served")),
        ("releases", ev.release(at(eligible), "eligible")),
    ]


def signed_tick(
    topic: str, partition: int, at: int, barrier: str | None = None
) -> list[tuple[str, bytes]]:
    """A tick (and barrier) as the replay producer writes it: signed for its topic-partition."""
    from streams.streaming import control
    from streams.streaming import headers as hdr

    return control.from_env().sign(topic, partition, hdr.tick_headers(at, barrier))


def signed(topic: str, partition: int, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Control headers (an event's stamp) as the replay producer writes them: signed for their
    topic-partition; no headers stay none (a live event)."""
    from streams.streaming import control

    return control.from_env().sign(topic, partition, headers) if headers else []


def signed_stamp(topic: str, partition: int, watermark: int) -> list[tuple[str, bytes]]:
    """An event's ``hw-wm`` as the replay producer writes it: signed for its topic-partition."""
    from streams.streaming import control
    from streams.streaming import headers as hdr

    stamp = [(hdr.WATERMARK, hdr.encode_time(watermark))]
    return control.from_env().sign(topic, partition, stamp)


def lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


def replay(
    policy: Policy,
    events: list[dict[str, Any]] | list[bytes],
    until: str | None = None,
    chunk: int | None = None,
) -> tuple[list[dict[str, Any]], ReplaySummary, list[dict[str, Any]]]:
    """Alerts, summary and dead letters of an in-process replay of ``events``."""
    from streams.contract import timestamps

    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    runner = InProcessReplay(policy, alerts.append, dead.append)
    raw = [e if isinstance(e, bytes) else orjson.dumps(e) for e in events]
    if chunk:
        for start in range(0, len(raw), chunk):
            runner.feed(raw[start : start + chunk])
    else:
        runner.feed(raw)
    summary = runner.finish(timestamps.parse(until) if until else None)
    return alerts, summary, dead


def firing(alerts: list[dict[str, Any]], rule: str | None = None) -> list[dict[str, Any]]:
    return [a for a in alerts if a["state"] == "firing" and (rule is None or a["rule"] == rule)]


def resolved(alerts: list[dict[str, Any]], rule: str | None = None) -> list[dict[str, Any]]:
    return [a for a in alerts if a["state"] == "resolved" and (rule is None or a["rule"] == rule)]


def alert_set(alerts: list[dict[str, Any]]) -> set[bytes]:
    return {orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in alerts}


def schema_registry() -> Registry:
    resources = []
    for path in sorted((REPO / "schemas").glob("*.schema.json")):
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def reference_validator(kind: str) -> Draft202012Validator:
    """The jsonschema library's validator: an independent check of the fastjsonschema path."""
    registry = schema_registry()
    return Draft202012Validator(
        registry.contents(f"urn:holdwatch:schema:{kind}"),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def stream(
    policy: Policy,
    events: list[dict[str, Any]] | list[bytes],
    until: str | None = None,
    partitions: int = 2,
    seed: int = 0,
    tick_every: int = 25,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Alerts and dead letters of the Kafka path with its pure parts, no broker.

    The replay producer's :class:`Stamper` (its order, stamps, ticks every ``tick_every`` lines and
    the end tick), four input topics per partition, each delivered in order but interleaved with
    the others at random (as Kafka may), and one :class:`PartitionDriver` per partition.
    """
    import random

    from streams.contract import timestamps
    from streams.kafka.topics import TYPE_TO_TOPIC
    from streams.streaming.partition import PartitionDriver
    from streams.streaming.stamp import Stamped, Stamper
    from streams.streaming.store import partition_of

    rng = random.Random(seed)
    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    topics = list(TYPE_TO_TOPIC.values())
    type_of_topic = {t: k for k, t in TYPE_TO_TOPIC.items()}
    drivers = [
        PartitionDriver(p, topics, policy, alerts.append, type_of_topic=type_of_topic)
        for p in range(partitions)
    ]
    # Per partition, per topic: (key, value, headers) in the order produced.
    queues: list[dict[str, list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]]] = [
        {t: [] for t in topics} for _ in range(partitions)
    ]

    def send(stamped: list[Stamped]) -> None:
        for item in stamped:
            if item.event_type is None or item.key is None:
                if item.dead_letter is not None:
                    dead.append(item.dead_letter)
                continue
            p = partition_of(item.key.decode(), partitions)
            topic = TYPE_TO_TOPIC[item.event_type]
            queues[p][topic].append((item.key, item.value, signed(topic, p, item.headers())))

    def tick(at: int) -> None:
        for p in range(partitions):
            for t in topics:
                queues[p][t].append((None, b"", signed_tick(t, p, at)))

    stamper = Stamper(policy)
    raw = [e if isinstance(e, bytes) else orjson.dumps(e) for e in events]
    for number, line in enumerate(raw, 1):
        send(stamper.stamp(line, number))
        if number % tick_every == 0:
            tick(stamper.watermark)
    released, end = stamper.finish(timestamps.parse(until) if until else None)
    send(released)
    tick(end)
    offset = 0
    for p, driver in enumerate(drivers):
        pending = {t: list(q) for t, q in queues[p].items() if q}
        while pending:
            topic = rng.choice(sorted(pending))
            key, value, headers = pending[topic].pop(0)
            if not pending[topic]:
                del pending[topic]
            offset += 1
            settled, _ = driver.on_message(topic, key, value, headers, offset)
            dead.extend(o.dead_letter for o in settled if o.dead_letter is not None)
    return alerts, dead
