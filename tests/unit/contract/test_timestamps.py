"""The timestamp fast path gives what the full parser gives, or leaves the input to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams.contract import timestamps
from streams.contract.structs import DATE_TIME
from streams.contract.timestamps import BadTimestamp, _parse_canonical, parse, parse_full


def outcome(text: str) -> tuple[str, int | str]:
    """The full parser's value, or its error message."""
    try:
        return "ok", parse_full(text)
    except BadTimestamp as exc:
        return "error", str(exc)


def both(text: str) -> tuple[str, int | str]:
    try:
        return "ok", parse(text)
    except BadTimestamp as exc:
        return "error", str(exc)


offsets = st.one_of(
    st.just("Z"),
    st.builds(
        lambda sign, hours, minutes: f"{sign}{hours:02d}:{minutes:02d}",
        st.sampled_from("+-"),
        st.integers(0, 25),
        st.integers(0, 61),
    ),
)


@st.composite
def canonical(draw: st.DrawFn) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` + offset, with every field sometimes out of its range."""
    year = draw(st.one_of(st.integers(1890, 2210), st.integers(0, 9999)))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    hour = draw(st.integers(0, 25))
    minute = draw(st.integers(0, 61))
    second = draw(st.integers(0, 61))
    offset = draw(offsets)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}"


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """A canonical timestamp with one character replaced, inserted or removed."""
    text: str = draw(canonical())
    at = draw(st.integers(0, len(text) - 1))
    char: str = draw(st.sampled_from([*"0123456789-:+TtZz. W٣", "\x00"]))
    how = draw(st.sampled_from(["replace", "insert", "remove"]))
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    if how == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + text[at + 1 :]


@settings(max_examples=3000, deadline=None)
@given(st.one_of(canonical(), mangled(), st.text(max_size=40)))
@example("2011-10-01T00:02:49-07:00")
@example("2011-10-01T00:02:49Z")
@example("2085-04-08T18-13:33+05:00")  # fromisoformat reads an offset inside the first 19 chars
@example("2011-10-01T000249.5-07:00")  # basic time with a fraction: not the canonical shape
@example("2011-W40-1T00:02:49-07:00")  # ISO week date
@example("1900-01-01T00:00:00Z")
@example("1899-12-31T23:59:59Z")
@example("2199-12-31T23:59:59Z")
@example("2200-01-01T00:00:00Z")
@example("1900-01-01T00:00:00+00:01")
@example("2199-12-31T23:59:59-00:01")
@example("2011-10-01T00:02:49+24:00")
@example(
    "0001-01-01T00:00:60+00:01"
)  # a leap second before year 1 in UTC: rejected, not OverflowError
@example("2011-10-01T00:02:49-00:00")
@example("2011-10-01t00:02:49z")
@example("2011-10-01 00:02:49-07:00")
@example("2011-10-01T00:02:60-07:00")
@example("2011-02-29T00:00:00Z")
@example("2012-02-29T00:00:00Z")
def test_the_fast_path_agrees_with_the_full_parser(text: str) -> None:
    fast = _parse_canonical(text)
    expected = outcome(text)
    if fast is not None:
        assert expected == ("ok", fast)
    assert both(text) == expected  # parse = fast path, else the full parser: value and error


@settings(max_examples=3000, deadline=None)
@given(st.one_of(canonical(), mangled(), st.text(max_size=40)))
@example("2011-10-01T000249.5-07:00")  # fromisoformat reads it; no date-time of the schema
@example("2011-W40-1T00:02:49-07:00")
@example("2011-10-01T00:02:60-07:00")  # the format's second 60: left to the full parser
@example("2011-10-01T00:02:49-0700")  # the format's offset without colon: left to it too
@example("2011-10-01T00:02:49-07:00")
def test_a_canonical_value_means_the_schema_format_matches(text: str) -> None:
    """The decoder skips the ``date-time`` regex when ``canonical`` gives a value."""
    fast = timestamps.canonical(text)
    if fast is not None:
        assert DATE_TIME.match(text) is not None
        assert outcome(text) == ("ok", fast)
    elif DATE_TIME.match(text) is not None and _parse_canonical(text) is not None:
        raise AssertionError(f"canonical left a canonical timestamp to the slow path: {text!r}")


@settings(max_examples=1000, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.none()
    ),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
    st.booleans(),
)
def test_every_canonical_timestamp_in_range_takes_the_fast_path(
    moment: datetime, offset_minutes: int, zulu: bool
) -> None:
    moment = moment.replace(microsecond=0)
    zone = UTC if zulu else timezone(timedelta(minutes=offset_minutes))
    text = moment.replace(tzinfo=zone).isoformat()
    if zulu:
        text = text.replace("+00:00", "Z")
    fast = _parse_canonical(text)
    assert fast is not None, text
    assert timestamps.canonical(text) == fast
    assert fast == parse_full(text) == round(moment.replace(tzinfo=zone).timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2011-10-01T00:02:49", "timestamp without UTC offset"),
        ("2011-10-01T00:02:49+24:00", "not an RFC 3339 timestamp"),
        ("1899-12-31T23:59:59Z", "out of range 1900..2200"),
        ("2200-01-01T00:00:00Z", "out of range 1900..2200"),
        ("2011-13-01T00:02:49Z", "not an RFC 3339 timestamp"),
    ],
)
def test_bad_timestamps_keep_their_errors(text: str, message: str) -> None:
    assert _parse_canonical(text) is None
    with pytest.raises(BadTimestamp, match=message):
        parse(text)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(timestamps.EARLIEST, timestamps.LATEST - 1),
    st.sampled_from(["UTC", "America/New_York", "America/Phoenix", "Asia/Kolkata"]),
)
def test_to_datetime_without_microseconds_is_the_same_moment(micros: int, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    seconds, rest = divmod(micros, timestamps.MICROS)
    reference = datetime.fromtimestamp(seconds, zone).replace(microsecond=rest)
    got = timestamps.to_datetime(micros, zone)
    assert (got, got.fold, got.utcoffset()) == (reference, reference.fold, reference.utcoffset())
    assert timestamps.isoformat(micros, zone) == reference.isoformat(
        timespec="microseconds" if rest else "seconds"
    )


class TestLeapSecond:
    """RFC 3339 allows second 60 (a leap second); read as the last microsecond of that minute.

    Fails on the starting main: ``fromisoformat`` rejects ``:60``, so the event was a
    ``bad_timestamp`` dead letter.
    """

    @pytest.mark.parametrize(
        "text",
        [
            "2016-12-31T23:59:60Z",
            "2016-12-31t23:59:60z",
            "2016-12-31T18:59:60-05:00",  # the same instant at another offset
            "2016-12-31T23:59:60.5Z",  # a fraction cannot go past .999999
        ],
    )
    def test_a_leap_second_is_accepted_as_59_999999(self, text: str) -> None:
        expected = parse("2016-12-31T23:59:59Z") + 999_999
        assert parse(text) == parse_full(text) == expected
        assert parse(text) < parse("2017-01-01T00:00:00Z")  # still before the next UTC day

    @pytest.mark.parametrize(
        "text", ["2016-12-31T23:58:60Z", "2011-10-01T00:02:60-07:00", "2016-12-31T23:59:61Z"]
    )
    def test_second_60_elsewhere_than_23_59_utc_is_no_leap_second(self, text: str) -> None:
        with pytest.raises(BadTimestamp):
            parse(text)

    def test_an_event_at_a_leap_second_passes_the_contract(self) -> None:
        """The production validator (fastjsonschema) accepts it; see common.schema.json."""
        import orjson

        from streams.contract.decode import Decoder
        from tests.support import Events

        event = Events("bk-leap").release("2016-12-31T23:59:60Z")
        decoded = Decoder().decode(orjson.dumps(event))
        assert timestamps.isoformat(decoded.at) == "2016-12-31T23:59:59.999999+00:00"


# -- the fast path's tables ------------------------------------------------------------------------

_EDGE_HOURS = ["1900-01-01T00", "1900-01-01T23", "1900-01-02T00", "1900-01-02T23", "1900-01-03T00"]
_EDGE_HOURS += ["2199-12-29T00", "2199-12-29T23", "2199-12-30T00", "2199-12-31T00", "2199-12-31T23"]


@pytest.mark.parametrize("hour", _EDGE_HOURS)
@pytest.mark.parametrize("clock", [":00:00", ":00:01", ":59:59"])
@pytest.mark.parametrize("offset", ["Z", "+00:00", "+00:01", "-00:01", "+23:59", "-23:59"])
def test_the_hours_near_the_range_ends_are_checked_every_time(
    hour: str, clock: str, offset: str
) -> None:
    """A looked-up hour needs no range check only because the hours within a day of either end
    are never kept: asked twice (the second time from the tables), the same answer as the
    full parser, or None where it refuses."""
    text = hour + clock + offset
    expected = outcome(text)
    for _ in range(2):
        fast = _parse_canonical(text)
        assert (expected[0] == "error") if fast is None else (expected == ("ok", fast)), text


@settings(max_examples=2000, deadline=None)
@given(st.one_of(canonical(), mangled()))
def test_the_tables_hold_only_keys_of_their_shape(text: str) -> None:
    """Three hits are a canonical timestamp only if every key in the tables has its exact shape."""
    _parse_canonical(text)
    assert all(
        re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}", key) for key in timestamps._hours
    )
    assert all(re.fullmatch(r"Z|[+-][0-9]{2}:[0-9]{2}", key) for key in timestamps._offsets)
    assert all(re.fullmatch(r":[0-5][0-9]:[0-5][0-9]", key) for key in timestamps._clocks)
    assert len(timestamps._clocks) == 3600
