"""Event time: RFC 3339 text <-> integer microseconds since the Unix epoch (UTC).

Integers keep every comparison and every deadline exact ("custody ending exactly at the deadline
is within the limit") and are cheap to store in the case table.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

MICROS = 1_000_000
HOUR = 3600 * MICROS
MINUTE = 60 * MICROS


# Event times outside this range are data errors, not history: the program started in 2008.
EARLIEST = -2208988800 * MICROS  # 1900-01-01T00:00:00Z
LATEST = 7258118400 * MICROS  # 2200-01-01T00:00:00Z


class BadTimestamp(ValueError):
    """Not an RFC 3339 timestamp with offset, or out of range."""


def parse(text: str) -> int:
    """Microseconds since the epoch; the offset is required (a local time without it is ambiguous)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:  # RFC 3339 allows lower-case "t" and "z"; fromisoformat does not
            moment = datetime.fromisoformat(text.upper())
        except ValueError as exc:
            raise BadTimestamp(f"not an RFC 3339 timestamp: {text[:60]!r}") from exc
    if moment.tzinfo is None:
        raise BadTimestamp(f"timestamp without UTC offset: {text[:60]!r}")
    try:
        micros = round(moment.timestamp() * MICROS)
    except (OverflowError, ValueError, OSError) as exc:
        raise BadTimestamp(f"timestamp out of range: {text[:60]!r}") from exc
    if not EARLIEST <= micros < LATEST:
        raise BadTimestamp(f"timestamp out of range 1900..2200: {text[:60]!r}")
    return micros


def to_datetime(micros: int, zone: tzinfo = UTC) -> datetime:
    seconds, rest = divmod(micros, MICROS)
    return datetime.fromtimestamp(seconds, zone).replace(microsecond=rest)


def format(micros: int, zone: tzinfo = UTC) -> str:
    """RFC 3339 with the zone's offset (local time reads better for monitors)."""
    moment = to_datetime(micros, zone)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def from_datetime(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise BadTimestamp("naive datetime")
    return round(moment.timestamp() * MICROS)
