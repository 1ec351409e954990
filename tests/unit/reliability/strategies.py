"""Hypothesis strategies for bad (and a few good-but-odd) input messages, with the verdict each must get.

Every strategy draws a :class:`Msg`: the raw bytes as they would arrive, the Kafka key and the
event type of the topic it is sent to (for the worker's pure core), and the dead-letter reason
the decoder must give (``None`` for a message that must be accepted or counted as duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from streams.contract.vocabulary import (
    CHARGE_CATEGORIES,
    CHARGE_SEVERITIES,
    CONVICTION_LEVELS,
    DETAINER_ACTIONS,
    EVENT_TYPES,
    FORMS,
    IMMIGRATION_STATUSES,
    PHASES,
)

TYPES = EVENT_TYPES
MAX = 64 * 1024

REQUIRED = {
    "booking": (
        "type",
        "event_id",
        "booking_id",
        "occurred_at",
        "person_id",
        "jurisdiction",
        "charges",
    ),
    "hit": (
        "type",
        "event_id",
        "booking_id",
        "occurred_at",
        "database",
        "status",
        "conviction_level",
    ),
    "detainer": ("type", "event_id", "booking_id", "occurred_at", "detainer_id", "action"),
    "release": ("type", "event_id", "booking_id", "occurred_at", "phase"),
}
STATUSES = IMMIGRATION_STATUSES
ENUMS = {
    "hit": {"conviction_level": CONVICTION_LEVELS, "status": STATUSES},
    "detainer": {"action": DETAINER_ACTIONS},
    "release": {"phase": PHASES},
}
ID_FIELDS = ("event_id", "booking_id")


@dataclass(frozen=True)
class Msg:
    raw: bytes
    key: bytes | None
    topic_type: str | None  # the type of the topic it is sent to; None: any topic
    reason: str | None  # None: a good message
    kind: str  # the generator that made it, for the per-kind coverage check


def usable_line(raw: bytes) -> bool:
    """The in-process replay strips line ends and skips blank lines: keep messages it reads as-is."""
    return raw.rstrip(b"\r\n") == raw and bool(raw.strip())


ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=24)
booking_ids = st.sampled_from([f"bk-{n}" for n in range(12)]) | ids
times = st.datetimes(
    min_value=__import__("datetime").datetime(2011, 1, 1),
    max_value=__import__("datetime").datetime(2013, 1, 1),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z")


@st.composite
def good_body(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(st.sampled_from(TYPES))
    body: dict[str, Any] = {
        "type": kind,
        "event_id": draw(st.text(min_size=1, max_size=12).map(lambda s: "ev-" + s)),
        "booking_id": draw(booking_ids),
        "occurred_at": draw(times),
    }
    if kind == "booking":
        body |= {
            "person_id": draw(ids),
            "jurisdiction": draw(
                st.sampled_from(["NY-NewYorkCity", "AZ-Maricopa", "CA-SantaClara"]) | ids
            ),
            "charges": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "code": ids,
                            "severity": st.sampled_from(CHARGE_SEVERITIES),
                            "category": st.sampled_from(CHARGE_CATEGORIES),
                        }
                    ),
                    min_size=1,
                    max_size=4,
                )
            ),
        }
        if draw(st.booleans()):
            # real but unusual zones (unknown ones are a bad kind of their own: unknown_timezone)
            body["timezone"] = draw(
                st.sampled_from(["America/Chicago", "UTC", "Etc/GMT+12", "Pacific/Kiritimati"])
            )
    elif kind == "hit":
        body |= {
            "database": "IDENT",
            "status": draw(st.sampled_from(STATUSES)),
            "conviction_level": draw(st.sampled_from(ENUMS["hit"]["conviction_level"])),
        }
    elif kind == "detainer":
        body |= {
            "detainer_id": draw(st.sampled_from(["dt-1", "dt-2"]) | ids),
            "action": draw(st.sampled_from(ENUMS["detainer"]["action"])),
        }
        if body["action"] == "issued":
            body["form"] = draw(st.sampled_from(FORMS))
    else:
        body["phase"] = draw(st.sampled_from(ENUMS["release"]["phase"]))
    return body


def _msg(body: dict[str, Any], reason: str | None, kind: str, key: bytes | None = None) -> Msg:
    raw = orjson.dumps(body)
    booking = body.get("booking_id")
    if key is None and isinstance(booking, str):
        key = booking.encode()
    topic = body.get("type") if body.get("type") in TYPES else None
    return Msg(raw, key or b"k", topic, reason, kind)


# -- one strategy per kind of bad input ------------------------------------------------------


@st.composite
def good(draw: st.DrawFn) -> Msg:
    return _msg(draw(good_body()), None, "good")


@st.composite
def invalid_utf8(draw: st.DrawFn) -> Msg:
    if draw(st.booleans()):
        raw = draw(st.binary(max_size=200))
        at = draw(st.integers(0, len(raw)))
        bad = draw(
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        )
        raw = raw[:at] + bad + raw[at:]
        if _utf8(raw):  # the inserted byte completed a sequence
            raw += b"\xff"
    else:  # a good event with one invalid byte inside a string
        text = orjson.dumps(draw(good_body())).decode()
        raw = text.replace('"booking_id":"', '"booking_id":"\udcff', 1).encode(
            "utf-8", "surrogateescape"
        )
    return Msg(raw, b"k", None, "invalid_utf8", "invalid_utf8")


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_json(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


@st.composite
def invalid_json(draw: st.DrawFn) -> Msg:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        raw = draw(st.text(max_size=200)).encode()
    elif choice == 1:  # truncated good event
        whole = orjson.dumps(draw(good_body())).decode()
        raw = whole[: draw(st.integers(1, len(whole) - 1))].encode()  # cut between characters
    elif choice == 2:  # deeper than any JSON parser should go
        depth = draw(st.integers(1100, 20000))
        raw = b"[" * depth + b"]" * depth
    else:
        raw = draw(
            st.sampled_from(
                [b"{'type': 'booking'}", b'{"a":1,}', b"NaN", b'{"a":1}{', b"tru", b"\x00"]
            )
        )
    if not _not_json(raw):
        raw = b"{" + raw
    return Msg(raw, b"k", None, "invalid_json", "invalid_json")


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def not_an_object(draw: st.DrawFn) -> Msg:
    value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    return Msg(orjson.dumps(value), b"k", None, "not_an_object", "not_an_object")


@st.composite
def unknown_type(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    if draw(st.booleans()):
        del body["type"]
    else:
        body["type"] = draw(json_values.filter(lambda v: v not in TYPES))
    return _msg(body, "unknown_type", "unknown_type")


@st.composite
def missing_field(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    name = draw(st.sampled_from([n for n in REQUIRED[body["type"]] if n != "type"]))
    del body[name]
    return _msg(body, "schema_violation", "missing_field", key=b"k")


@st.composite
def extra_field(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    name = draw(
        st.text(min_size=1, max_size=10).filter(
            lambda n: n not in body and n not in ("timezone", "form", "reason")
        )
    )
    if draw(st.booleans()):
        depth = draw(st.integers(1, 1000))  # deep, but within the JSON parser's limit
        msg = _msg(body, "schema_violation", "extra_field")
        nested = orjson.dumps(name) + b":" + b"[" * depth + b"]" * depth
        return Msg(
            msg.raw[:-1] + b"," + nested + b"}", msg.key, msg.topic_type, msg.reason, msg.kind
        )
    body[name] = draw(json_values)
    return _msg(body, "schema_violation", "extra_field")


@st.composite
def wrong_type(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    name = draw(st.sampled_from([n for n in body if n != "type"]))
    body[name] = draw(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3)
        | st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=2)
    )
    return _msg(body, "schema_violation", "wrong_type", key=b"k")


@st.composite
def unknown_enum(draw: st.DrawFn) -> Msg:
    kind = draw(st.sampled_from(["hit", "detainer", "release", "booking"]))
    body = draw(good_body(kind))
    if kind == "booking":
        charge = body["charges"][0]
        field_name = draw(st.sampled_from(["severity", "category"]))
        charge[field_name] = draw(
            st.text(max_size=12).filter(
                lambda s: (
                    s
                    not in (
                        "felony",
                        "misdemeanor",
                        "infraction",
                        "violent",
                        "drug",
                        "property",
                        "traffic",
                        "immigration",
                        "other",
                    )
                )
            )
        )
    else:
        field_name, allowed = draw(st.sampled_from(sorted(ENUMS[kind].items())))
        body[field_name] = draw(st.text(max_size=12).filter(lambda s: s not in allowed))
    return _msg(body, "schema_violation", "unknown_enum")


@st.composite
def timestamp_without_offset(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    stamp = body["occurred_at"].removesuffix("Z")
    body["occurred_at"] = stamp + draw(st.sampled_from(["", ".5", ".123456", "+25:00", " ", "t"]))
    return _msg(body, "schema_violation", "timestamp_without_offset")


@st.composite
def timestamp_out_of_range(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    year = draw(st.integers(1000, 1898) | st.integers(2202, 9999))
    body["occurred_at"] = f"{year:04d}" + body["occurred_at"][4:].replace("-02-29", "-02-28")
    return _msg(body, "bad_timestamp", "timestamp_out_of_range")


@st.composite
def huge_string(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    name = draw(
        st.sampled_from(
            [*ID_FIELDS, "person_id", "jurisdiction"]
            if body["type"] == "booking"
            else list(ID_FIELDS)
        )
    )
    body[name] = draw(st.sampled_from("x\u00e9\u4e2d")) * draw(st.integers(129, 20_000))
    return _msg(body, "schema_violation", "huge_string", key=b"k")


@st.composite
def oversized(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    body["padding"] = "x" * draw(st.integers(MAX, MAX + 5000))
    raw = orjson.dumps(body)
    if draw(st.booleans()):
        raw = raw + b"\xff"  # size is checked before anything else
    return Msg(raw, b"k", None, "oversized", "oversized")


@st.composite
def unknown_timezone(draw: st.DrawFn) -> Msg:
    body = draw(good_body("booking"))
    body["timezone"] = draw(
        st.sampled_from(["Foo/Bar", "../../etc", "Z", "/etc/passwd", "America/New York"])
        | ids.filter(
            lambda z: (
                "/" not in z
                and z
                not in (
                    "UTC",
                    "GMT",
                    "EST",
                    "MST",
                    "HST",
                    "EET",
                    "CET",
                    "MET",
                    "WET",
                    "Zulu",
                    "UCT",
                    "Universal",
                    "Greenwich",
                    "NZ",
                    "PRC",
                    "ROC",
                    "ROK",
                    "GB",
                    "Eire",
                    "Egypt",
                    "Iran",
                    "Israel",
                    "Jamaica",
                    "Japan",
                    "Libya",
                    "Navajo",
                    "Poland",
                    "Portugal",
                    "Singapore",
                    "Turkey",
                    "Iceland",
                    "Cuba",
                    "Hongkong",
                    "Kwajalein",
                    "W-SU",
                    "GMT0",
                    "GMT+0",
                    "GMT-0",
                    "EST5EDT",
                    "CST6CDT",
                    "MST7MDT",
                    "PST8PDT",
                    "NZ-CHAT",
                    "GB-Eire",
                    "Factory",
                )
            )
        )
    )
    return _msg(body, "schema_violation", "unknown_timezone")


# -- key and topic: only where there are keys and topics (the worker) ------------------------


@st.composite
def type_topic_mismatch(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    topic = draw(st.sampled_from([t for t in TYPES if t != body["type"]]))
    return Msg(
        orjson.dumps(body),
        body["booking_id"].encode(),
        topic,
        "type_topic_mismatch",
        "type_topic_mismatch",
    )


@st.composite
def empty_key(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    return Msg(
        orjson.dumps(body),
        draw(st.sampled_from([b"", None])),
        body["type"],
        "empty_key",
        "empty_key",
    )


@st.composite
def key_mismatch(draw: st.DrawFn) -> Msg:
    body = draw(good_body())
    key = draw(
        st.binary(min_size=1, max_size=20).filter(lambda k: k != body["booking_id"].encode())
    )
    return Msg(orjson.dumps(body), key, body["type"], "key_mismatch", "key_mismatch")


BODY_KINDS = (
    invalid_utf8,
    invalid_json,
    not_an_object,
    unknown_type,
    missing_field,
    extra_field,
    wrong_type,
    unknown_enum,
    timestamp_without_offset,
    timestamp_out_of_range,
    huge_string,
    oversized,
    unknown_timezone,
)
KAFKA_KINDS = (type_topic_mismatch, empty_key, key_mismatch)


def body_messages() -> st.SearchStrategy[Msg]:
    """Bad messages that need no key or topic, plus good ones (and their repeats) among them."""
    return st.one_of(good(), *(k() for k in BODY_KINDS)).filter(lambda m: usable_line(m.raw))


def kafka_messages() -> st.SearchStrategy[Msg]:
    return st.one_of(good(), *(k() for k in BODY_KINDS), *(k() for k in KAFKA_KINDS))
