"""Logging for long-running processes: one clear line while the broker is away, and no ids.

aiokafka logs every failed connect, fetch and heartbeat at ERROR, several times a second per
connection, while a broker is unreachable: a 30 s outage wrote about 2,400 lines to a worker's
log, none of which says what the worker is doing about it. :class:`BrokerOutageFilter` lets the
first such record through, then swallows the rest and instead logs, at most every
``every`` seconds, one WARNING from ``holdwatch.kafka``: which broker address is unreachable,
for how long, and that the process is waiting for it (nothing is lost: consumers resume from
their committed offsets, producers retry).

Holdwatch's own log calls never carry a booking or person id (counts and partition numbers
only); :class:`NoIdentifiers` is a guard for third-party records, dropping the
message text of any INFO+ record that contains a configured pattern.

Third-party debug records do carry message values: at ``--log-level debug`` aiokafka and Faust
log what they fetch and send, so a rejected booking's raw ``person_id`` (rejected before it is
pseudonymized) and whole case states would reach the log. :func:`redact_person_ids` installs a
log-record factory that rewrites every ``person_id`` value in every record, at every level and
before any handler or filter sees it (Faust replaces the handlers at start; the factory stays).
Dead-letter records keep the original bytes on their own topic, which the threat model covers;
the log is not that place.
"""

from __future__ import annotations

import logging
import re

from streams.contract.timestamps import MICROS
from streams.engine.clock import Clock, MonotonicClock

__all__ = ["BrokerOutageFilter", "NoIdentifiers", "install", "redact", "redact_person_ids"]

REDACTED = "<redacted>"
# The key in JSON ("person_id": …), Python reprs ('person_id': …), JSON escaped inside JSON or
# inside a bytes repr (\\"person_id\\": …); and person_id=… in key=value text.
_PERSON_KEY = re.compile(r"""\\*["']person_id\\*["']\s*:\s*""")
_PERSON_PAIR = re.compile(r"(\bperson_id=)([^\s,;&)}\]]+)")
_QUOTE = re.compile(r"""\\*["']""")


def _value_end(text: str, start: int) -> int:
    """Where the value starting at ``start`` ends: a quoted string (quoted as it opened), a
    bracketed object or list (by depth), or a bare scalar up to the next separator."""
    quote = _QUOTE.match(text, start)
    if quote:
        mark = quote.group()
        i = quote.end()
        while True:
            j = text.find(mark, i)
            if j < 0:
                return len(text)
            if text[j - 1] != "\\" or mark.startswith("\\"):
                return j + len(mark)
            i = j + 1
    if start < len(text) and text[start] in "{[":
        depth = 0
        for i in range(start, len(text)):
            if text[i] in "{[":
                depth += 1
            elif text[i] in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
        return len(text)
    i = start
    while i < len(text) and text[i] not in ",}]\n":
        i += 1
    return i


def redact(text: str) -> str:
    """``text`` with the value of every ``person_id`` replaced by ``<redacted>``."""
    if "person_id" not in text:
        return text
    out: list[str] = []
    i = 0
    for found in _PERSON_KEY.finditer(text):
        if found.start() < i:
            continue
        out.append(text[i : found.end()])
        quote = _QUOTE.match(text, found.end())
        mark = quote.group() if quote else ""
        out.append(f"{mark}{REDACTED}{mark}")
        i = _value_end(text, found.end())
    out.append(text[i:])
    return _PERSON_PAIR.sub(lambda m: f"{m[1]}{REDACTED}", "".join(out))


_installed = False


def redact_person_ids() -> None:
    """Every log record from now on has its message (and traceback) ``person_id``-redacted.

    A record factory, not a handler filter: it applies to every handler present and future
    (Faust installs its own at start) and to records of every level. Only records a logger
    lets through are built, so a quiet process pays nothing; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        if "person_id" in message:
            record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if "person_id" in text:
                record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)


_CONNECTION_TROUBLE = re.compile(
    r"Unable connect to node|Connect call failed|Failed fetch messages|Unable to update metadata|"
    r"NodeNotReadyError|KafkaConnectionError|marking coordinator dead|Marking the coordinator dead|"
    r"Group Coordinator Request failed|Heartbeat send request failed|Unable to bootstrap"
)
_ADDRESS = re.compile(r"\('([^']+)', (\d+)\)|(\d+\.\d+\.\d+\.\d+:\d+)")


class BrokerOutageFilter(logging.Filter):
    def __init__(self, every: float = 10.0, clock: Clock | None = None) -> None:
        super().__init__()
        self.every = every
        self.clock = clock or MonotonicClock()
        self.since: float | None = None
        self.last_report = 0.0
        self.suppressed = 0
        self.address = "the broker"
        self.log = logging.getLogger("holdwatch.kafka")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("holdwatch"):
            return True
        message = record.getMessage()
        now = self.clock.now() / MICROS
        if not _CONNECTION_TROUBLE.search(message):
            if self.since is not None and record.levelno < logging.WARNING:
                self.log.warning(
                    "Kafka reachable again after %.0fs (%d connection errors suppressed)",
                    now - self.since,
                    self.suppressed,
                )
                self.since, self.suppressed = None, 0
            return True
        found = _ADDRESS.search(message)
        if found:
            self.address = (
                f"{found.group(1)}:{found.group(2)}" if found.group(1) else found.group(3)
            )
        if self.since is None:
            self.since, self.last_report, self.suppressed = now, now, 0
            return True  # the first one, as it came
        self.suppressed += 1
        if now - self.last_report >= self.every:
            self.last_report = now
            self.log.warning(
                "waiting for Kafka at %s: unreachable for %.0fs (%d connection errors suppressed); "
                "consumers resume from their committed offsets when it is back",
                self.address,
                now - self.since,
                self.suppressed,
            )
        return False


class NoIdentifiers(logging.Filter):
    """Replace the text of INFO+ records that match ``pattern`` (e.g. ``bk-\\S+``) by a notice."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO and self.pattern.search(record.getMessage()):
            record.msg, record.args = "(log record withheld: it contained an identifier)", ()
        return True


def install(every: float = 10.0) -> BrokerOutageFilter:
    """Attach the outage filter to the root handlers (call after logging is configured)."""
    outage = BrokerOutageFilter(every)
    root = logging.getLogger()
    last_resort = [] if logging.lastResort is None else [logging.lastResort]
    for handler in root.handlers or last_resort:
        handler.addFilter(outage)
    return outage
