"""``holdwatch alerts tail``: print the alerts topic, each alert once.

Delivery to the alerts topic is at least once: a worker that crashes after producing an alert
but before committing the input that caused it produces the alert again after the restart.
A re-delivered alert carries the same ``alert_id`` and ``state``, so this reader drops it
(a ``firing`` and its later ``resolved`` share the id and are both printed). Control records
(empty values with an ``hw-barrier`` header, written by workers at the end of a replay run)
are skipped.

Connection and security settings are the worker's: ``--broker`` or ``HOLDWATCH_KAFKA_BROKERS``,
``--kafka-security-protocol`` / ``--kafka-ca-file``, credentials only from the environment.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict
from typing import Any, TextIO

import orjson

from streams.cli.worker import add_broker_flags, kafka_settings
from streams.errors import UsageError
from streams.kafka.settings import KafkaSettings
from streams.streaming import headers as hdr

#: How many (alert_id, state) pairs a long-running tail remembers for de-duplication.
DEDUPE_WINDOW = 1_000_000
#: --no-follow: stop after this long without a record once every partition is read to its end.
IDLE_SECONDS = 1.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "alerts",
        help="read the alerts topic (tail)",
        description="Read the alerts the workers write to Kafka.",
    )
    tails = parser.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)
    tail = tails.add_parser(
        "tail",
        help="print each alert once, as it arrives",
        description="Print the alerts topic, each alert once: re-delivered alerts (same alert_id "
        "and state, possible after a worker restart) and control records are skipped.",
    )
    add_broker_flags(tail)
    tail.add_argument(
        "--from-beginning",
        action="store_true",
        help="start at the oldest retained alert (default: only new ones)",
    )
    tail.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep waiting for new alerts (default); --no-follow stops once every partition is read to its end",
    )
    tail.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines, one alert a line (default: a readable line each)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = kafka_settings(args)
    if not args.follow and not args.from_beginning:
        raise UsageError(
            "--no-follow without --from-beginning would print nothing; add --from-beginning"
        )
    tail = AlertTail(settings, from_beginning=args.from_beginning)
    printer = print_json if args.json else print_pretty
    try:
        tail.run(lambda alert: printer(alert, sys.stdout), follow=args.follow)
    finally:
        tail.close()
    return 0


def print_json(alert: dict[str, Any], out: TextIO) -> None:
    out.write(orjson.dumps(alert).decode() + "\n")
    out.flush()


def printable(value: object) -> str:
    """``value`` as text a terminal shows and never obeys: control characters (ESC, CR, BEL,
    the C1 range, bidi overrides, line separators) as ``\\xNN``/``\\uNNNN`` escapes.

    Alert fields come from input messages (``booking_id`` is whatever a producer sent within
    the schema), so printed raw they could move the cursor, rewrite earlier lines, set the
    window title or hide text. Applied to the human format always, not only on a terminal: its
    output is often piped to ``less -R`` or a log that someone later ``cat``s."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch.isprintable()
        else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


def print_pretty(alert: dict[str, Any], out: TextIO) -> None:
    p = printable
    state = p(alert.get("state", "?")).upper()
    details = alert.get("details") or {}
    extra = " ".join(
        f"{p(k)}={p(v)}" for k, v in details.items() if isinstance(v, str | int | float | bool)
    )
    out.write(
        f"{p(alert.get('occurred_at', '?'))}  {state:<8} {p(alert.get('severity', '?')):<8} "
        f"{p(alert.get('rule', '?')):<26} {p(alert.get('jurisdiction', '?')):<16} "
        f"booking {p(alert.get('booking_id', '?'))}  {extra}".rstrip()
        + "\n"
    )
    out.flush()


class AlertTail:
    """Manual assignment of every alerts partition (no consumer group, so no group join wait)."""

    def __init__(self, settings: KafkaSettings, from_beginning: bool = False) -> None:
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError

        self.settings = settings
        self.topic = settings.topics.alerts
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        try:
            self.consumer = KafkaConsumer(
                **settings.kafka_python_kwargs(), enable_auto_commit=False, group_id=None
            )
        except KafkaError as exc:
            raise UsageError(f"cannot reach Kafka at {','.join(settings.brokers)}: {exc}") from None
        self.partitions = [TopicPartition(self.topic, p) for p in range(self._partition_count())]
        self.consumer.assign(self.partitions)
        if from_beginning:
            self.consumer.seek_to_beginning()
        else:
            self.consumer.seek_to_end()

    def _partition_count(self) -> int:
        """The topic's real partition count; never auto-creates it (the admin client asks without)."""
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(**self.settings.kafka_python_kwargs())
        try:
            for topic in admin.describe_topics([self.topic]):
                if topic.get("error_code", 0) == 0 and topic.get("partitions"):
                    return len(topic["partitions"])
        except Exception:  # kafka-python raises the error code's class for a missing topic
            pass
        finally:
            admin.close()
        raise UsageError(
            f"topic {self.topic!r} does not exist on {','.join(self.settings.brokers)}: start a worker "
            f"(or `holdwatch topics create`) with prefix {self.settings.topic_prefix!r} first"
        )

    def handle(self, record: Any) -> dict[str, Any] | None:
        """The alert in ``record``, or None for a control record, a bad value or a re-delivery."""
        if hdr.header(record.headers, hdr.BARRIER) is not None or not record.value:
            return None
        try:
            alert: dict[str, Any] = orjson.loads(record.value)
            key = (str(alert["alert_id"]), str(alert["state"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            print(
                f"holdwatch alerts tail: skipped a record that is not an alert at {record.topic}/{record.partition}@{record.offset}",
                file=sys.stderr,
            )
            return None
        if key in self.seen:
            return None
        self.seen[key] = None
        if len(self.seen) > DEDUPE_WINDOW:
            self.seen.popitem(last=False)
        return alert

    def caught_up(self) -> bool:
        for tp in self.partitions:
            high = self.consumer.highwater(
                tp
            )  # from the last fetch: exact, unlike end_offsets on Tansu
            if high is None or self.consumer.position(tp) < high:
                return False
        return True

    def run(self, emit: Any, follow: bool = True, max_seconds: float | None = None) -> None:
        started = last = time.monotonic()
        while True:
            batches = self.consumer.poll(timeout_ms=200, max_records=5000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    last = now
                    alert = self.handle(record)
                    if alert is not None:
                        emit(alert)
            if not follow and not batches and now - last >= IDLE_SECONDS and self.caught_up():
                return
            if not follow and not batches and now - last >= 10 * IDLE_SECONDS:
                return  # nothing fetched at all (empty partitions report no highwater)
            if max_seconds is not None and now - started > max_seconds:
                return

    def close(self) -> None:
        self.consumer.close()
