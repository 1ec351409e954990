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
"""

from __future__ import annotations

import logging
import re
import time

__all__ = ["BrokerOutageFilter", "NoIdentifiers", "install"]

_CONNECTION_TROUBLE = re.compile(
    r"Unable connect to node|Connect call failed|Failed fetch messages|Unable to update metadata|"
    r"NodeNotReadyError|KafkaConnectionError|marking coordinator dead|Marking the coordinator dead|"
    r"Group Coordinator Request failed|Heartbeat send request failed|Unable to bootstrap"
)
_ADDRESS = re.compile(r"\('([^']+)', (\d+)\)|(\d+\.\d+\.\d+\.\d+:\d+)")


class BrokerOutageFilter(logging.Filter):
    def __init__(self, every: float = 10.0, clock: object = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self.since: float | None = None
        self.last_report = 0.0
        self.suppressed = 0
        self.address = "the broker"
        self.log = logging.getLogger("holdwatch.kafka")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("holdwatch"):
            return True
        message = record.getMessage()
        now = self.clock()  # type: ignore[operator]
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
    for handler in root.handlers or [logging.lastResort]:
        if handler is not None:
            handler.addFilter(outage)
    return outage
