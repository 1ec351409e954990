"""Event time: RFC 3339 text <-> integer microseconds since the Unix epoch (UTC).

Integers keep every comparison and every deadline exact ("custody ending exactly at the deadline
is within the limit") and are cheap to store in the case table.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo

MICROS = 1_000_000
HOUR = 3600 * MICROS
MINUTE = 60 * MICROS


# Event times outside this range are data errors, not history: the program started in 2008.
EARLIEST = -2208988800 * MICROS  # 1900-01-01T00:00:00Z
LATEST = 7258118400 * MICROS  # 2200-01-01T00:00:00Z
_LAST_SECOND = time(23, 59, 59)


class BadTimestamp(ValueError):
    """Not an RFC 3339 timestamp with offset, or out of range."""


def parse(text: str) -> int:
    """Microseconds since the epoch; the offset is required (a local time without it is ambiguous)."""
    micros = _parse_canonical(text)
    if micros is not None:
        return micros
    return parse_full(text)


# The fast path: the canonical shape every producer writes, ``YYYY-MM-DDTHH:MM:SS`` then ``Z`` or
# ``+HH:MM``/``-HH:MM``. The date and time go through the same ``fromisoformat`` as the full
# parser, without the offset (a naive datetime: no tzinfo object, no float); the offset comes
# from a table of its exact text. Anything else, and anything out of range, takes the full
# parser, which also makes every error. ``_parse_canonical == parse_full`` wherever the former
# gives a value (tests/unit/contract/test_timestamps.py).
_EPOCH_NAIVE = datetime(1970, 1, 1)
_fromisoformat = datetime.fromisoformat
_DIGITS = frozenset("0123456789")
#: Offset text (``Z`` or ``+HH:MM``) -> microseconds east of UTC: at most 2881 entries.
_offsets: dict[str, int] = {"Z": 0}


def _offset(text: str) -> int | None:
    """``Z``, ``+HH:MM`` / ``-HH:MM`` (hours 00-23, minutes 00-59) in microseconds, else None."""
    micros = _offsets.get(text)
    if micros is not None:
        return micros
    if (
        len(text) != 6
        or text[0] not in "+-"
        or text[3] != ":"
        or not _DIGITS.issuperset(text[1:3] + text[4:])
    ):
        return None
    hours, minutes = int(text[1:3]), int(text[4:])
    if hours > 23 or minutes > 59:
        return None
    micros = (hours * 60 + minutes) * MINUTE
    if text[0] == "-":
        micros = -micros
    _offsets[text] = micros
    return micros


#: ``":00"`` .. ``":59"``: the minutes and the seconds of a canonical timestamp, as microseconds.
_MINUTES = {f":{n:02d}": n * MINUTE for n in range(60)}
_SECONDS = {f":{n:02d}": n * MICROS for n in range(60)}
#: ``:MM:SS`` -> its microseconds into the hour.
_clocks = {m + s: _MINUTES[m] + _SECONDS[s] for m in _MINUTES for s in _SECONDS}
#: ``YYYY-MM-DDTHH`` -> its start (UTC, before the offset): the hours a log's events share. Only
#: hours at least a day inside ``EARLIEST .. LATEST`` are kept, so that any time in them at any
#: offset is in range and a hit needs no range check.
_hours: dict[str, int] = {}
_HOURS_MAX = 16384  # bounded: odd input cannot grow it without limit
_DAY = 24 * HOUR


def _hour_start(prefix: str) -> int | None:
    """``YYYY-MM-DDTHH`` (ASCII digits, a real date, hour 00-23) as microseconds, else None."""
    if (
        len(prefix) != 13
        or prefix[4] != "-"
        or prefix[7] != "-"
        or prefix[10] != "T"
        or not prefix.isascii()
        or not (prefix[:4] + prefix[5:7] + prefix[8:10] + prefix[11:]).isdigit()
    ):
        return None
    try:
        moment = _fromisoformat(prefix + ":00:00")
    except ValueError:
        return None
    delta = moment - _EPOCH_NAIVE
    start = (delta.days * 86400 + delta.seconds) * MICROS
    if EARLIEST + _DAY <= start < LATEST - 2 * _DAY:
        if len(_hours) >= _HOURS_MAX:
            _hours.clear()
        _hours[prefix] = start
    return start


def _parse_canonical(text: str) -> int | None:
    """``parse`` of a canonical timestamp, or None for the full parser to decide.

    Three lookups, no datetime per event (issue 15): the hour ``YYYY-MM-DDTHH`` (events share
    their hours; the first of each is read by ``fromisoformat``), the clock ``:MM:SS`` and the
    offset ``Z`` / ``+HH:MM``. Each table holds only keys of exactly their shape, so three hits
    are a canonical timestamp; the first time a key is met, ``_parse_canonical_miss`` checks it
    and fills its table."""
    start = _hours.get(text[:13])
    clock = _clocks.get(text[13:19])
    offset = _offsets.get(text[19:])
    if start is None or clock is None or offset is None:
        return _parse_canonical_miss(text)
    return start + clock - offset


def _parse_canonical_miss(text: str) -> int | None:
    """``_parse_canonical`` with every part checked, filling the tables it looks up."""
    if len(text) not in (20, 25):
        return None
    offset = _offset(text[19:])  # ``Z`` is in its table from the start
    if offset is None:
        return None
    start = _hours.get(text[:13])
    if start is None:
        start = _hour_start(text[:13])
        if start is None:
            return None
    minutes = _MINUTES.get(text[13:16])
    seconds = _SECONDS.get(text[16:19])
    if minutes is None or seconds is None:
        return None
    micros = start + minutes + seconds - offset
    if not EARLIEST <= micros < LATEST:
        return None
    return micros


#: ``parse(text)`` when ``text`` has exactly the canonical shape, else None. Its separators are
#: checked at every position, so a value also means the text matches the schemas' ``format:
#: date-time``: the decoder then skips that regex, 3-4% of a replay (issue 15;
#: tests/unit/contract/test_timestamps.py).
canonical = _parse_canonical


#: A leap second is read as the last microsecond before the next minute (time has no 61st second).
LEAP_SECOND = MICROS - 1


def _without_leap_second(text: str) -> str | None:
    """``text`` with second ``60`` read as ``59`` (its fraction dropped), else None.

    RFC 3339 (5.6, 5.7) allows ``23:59:60Z``, the leap second; ``fromisoformat`` does not.
    """
    if len(text) < 19 or text[13] != ":" or text[16:19] != ":60":
        return None
    rest = text[19:]
    if rest[:1] in (".", ","):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        rest = rest[end:]
    return f"{text[:17]}59{rest}"


def parse_full(text: str) -> int:
    """``parse`` for any input: every RFC 3339 form ``fromisoformat`` reads, and every error.

    A leap second (``2016-12-31T23:59:60Z``, or the same instant at another offset) is accepted as
    ``23:59:59.999999Z``: it stays inside its UTC day and before every later event. Second 60 at
    any other UTC time of day is no leap second and is rejected. Whether a leap second was really
    inserted that day is not checked (no table of leap seconds is kept).
    """
    leap = 0
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:  # RFC 3339 allows lower-case "t" and "z"; fromisoformat does not
            moment = datetime.fromisoformat(text.upper())
        except ValueError as exc:
            shifted = _without_leap_second(text.upper())
            if shifted is None:
                raise BadTimestamp(f"not an RFC 3339 timestamp: {text[:60]!r}") from exc
            try:
                moment = datetime.fromisoformat(shifted)
            except ValueError:
                raise BadTimestamp(f"not an RFC 3339 timestamp: {text[:60]!r}") from exc
            offset = moment.utcoffset()
            try:  # year 1 at a positive offset has no UTC instant in datetime's range
                utc_time = None if offset is None else (moment - offset).time()
            except OverflowError:
                raise BadTimestamp(f"timestamp out of range: {text[:60]!r}") from exc
            if utc_time is not None and utc_time != _LAST_SECOND:
                raise BadTimestamp(
                    f"second 60 is a leap second only at 23:59:60 UTC: {text[:60]!r}"
                ) from exc
            moment = moment.replace(microsecond=0)
            leap = LEAP_SECOND
    if moment.tzinfo is None:
        raise BadTimestamp(f"timestamp without UTC offset: {text[:60]!r}")
    try:
        micros = round(moment.timestamp() * MICROS) + leap
    except (OverflowError, ValueError, OSError) as exc:
        raise BadTimestamp(f"timestamp out of range: {text[:60]!r}") from exc
    if not EARLIEST <= micros < LATEST:
        raise BadTimestamp(f"timestamp out of range 1900..2200: {text[:60]!r}")
    return micros


def to_datetime(micros: int, zone: tzinfo = UTC) -> datetime:
    seconds, rest = divmod(micros, MICROS)
    moment = datetime.fromtimestamp(seconds, zone)  # whole seconds: microsecond is already 0
    return moment.replace(microsecond=rest) if rest else moment


def isoformat(micros: int, zone: tzinfo = UTC) -> str:
    """RFC 3339 with the zone's offset (local time reads better for monitors)."""
    moment = to_datetime(micros, zone)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def from_datetime(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise BadTimestamp("naive datetime")
    return round(moment.timestamp() * MICROS)
