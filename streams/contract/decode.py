"""Bytes -> validated :class:`Event`, or :class:`Rejected` with a dead-letter reason.

The order of checks is the order of cheapness, so that bad input costs little and every reason
is precise: size, UTF-8, JSON, object, type, schema, timestamp, key. Valid input takes a fast
path (msgspec) that decides the same; see :meth:`Decoder.decode`.
"""

from __future__ import annotations

import functools
from sys import intern
from typing import Any
from zoneinfo import ZoneInfo

import fastjsonschema
import msgspec
import orjson
from msgspec import UNSET

from streams.contract import timestamps
from streams.contract.events import Event
from streams.contract.schemas import Validator, validators
from streams.contract.structs import DATE_TIME, Booking, Detainer, Hit, InputEvent, Release
from streams.contract.vocabulary import EVENT_TYPES, DeadLetterReason, EventType
from streams.privacy import Pseudonymizer, from_env

MAX_MESSAGE_BYTES = 64 * 1024

_parse_timestamp = timestamps.parse
_canonical = timestamps.canonical


class Rejected(Exception):
    """An input that becomes a dead letter; ``reason`` is one of the dead-letter schema's enum
    (typed: mypy refuses a reason the vocabulary does not declare)."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:1024]


class Decoder:
    """Holds the compiled validators; one per process, reused for every message."""

    def __init__(
        self, max_bytes: int = MAX_MESSAGE_BYTES, pseudonymizer: Pseudonymizer | None = None
    ) -> None:
        self.max_bytes = max_bytes
        # Built at start: in production (HOLDWATCH_ENV) a missing pseudonym key stops the process here.
        self.pseudonymizer = pseudonymizer or from_env()
        self._pseudonym = self.pseudonymizer.pseudonym
        every = validators()
        # By the ``type`` as read: the event type it is (typed) and its validator.
        self._validators: dict[str, tuple[EventType, Validator]] = {
            kind: (kind, every[kind]) for kind in EVENT_TYPES
        }

    def decode(
        self, raw: bytes, *, expected_type: str | None = None, key: bytes | None = None
    ) -> Event:
        """Validate one message. ``expected_type`` is the topic's type, ``key`` the Kafka key.

        Two paths, one outcome. The fast path parses and validates in one C call (msgspec
        Structs, :mod:`streams.contract.structs`) plus the two checks msgspec cannot state; any
        input it refuses takes the exact path (orjson + the fastjsonschema code compiled from
        ``schemas/``), which accepts it or makes the dead letter with today's reason and detail.
        tests/unit/contract/test_structs.py holds the two paths equal on random and mutated input.
        """
        if len(raw) > self.max_bytes:
            raise Rejected("oversized", f"{len(raw)} bytes > {self.max_bytes}")
        at: int | None
        body: InputEvent
        try:
            body = _fast_decode(raw)
        except msgspec.MsgspecError:
            body, at = self._exact(raw, expected_type), None
        else:
            # The canonical shape is parsed at once and needs no format regex (``canonical``).
            text = body.occurred_at
            at = _canonical(text)
            if (at is None and _DATE_TIME(text) is None) or (
                type(body) is Detainer and body.action == "issued" and body.form is UNSET
            ):
                body, at = self._exact(raw, expected_type), None
        kind = _KINDS[type(body)]
        if expected_type is not None and kind != expected_type:
            raise Rejected("type_topic_mismatch", f"type {kind!r} on the {expected_type} topic")
        if type(body) is Booking:
            # Its checks and rewrites first: if a later check refuses the event, nothing else
            # saw the body.
            zone_name = body.timezone
            if zone_name is not UNSET:
                if not _known_zone(zone_name):  # the rules would raise on it
                    raise Rejected(
                        "schema_violation",
                        f"data.timezone {zone_name[:64]!r} is not a known IANA time zone",
                    )
                body.timezone = intern(zone_name)
            # The raw person id goes no further than this line.
            body.person_id = self._pseudonym(body.person_id)
            # A handful of distinct values kept by every open case: one shared copy each
            # (-116 B per open case, bench/ memory row).
            body.jurisdiction = intern(body.jurisdiction)
        if at is None:
            try:
                at = _parse_timestamp(body.occurred_at)
            except timestamps.BadTimestamp as exc:
                raise Rejected("bad_timestamp", str(exc)) from None
        booking_id = body.booking_id
        if key is not None:
            if not key:
                raise Rejected("empty_key", "message key is empty")
            if key != booking_id.encode():
                raise Rejected("key_mismatch", "message key differs from booking_id")
        return Event(kind, booking_id, body.event_id, at, body)

    def _exact(self, raw: bytes, expected_type: str | None) -> InputEvent:
        """The body as orjson parses it, validated by the schemas' compiled code, or the dead
        letter: the checks in order of cheapness, each reason precise (the path of every input
        before issue 15, kept word for word for what the fast path refuses)."""
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if _is_invalid_utf8(raw):
                raise Rejected("invalid_utf8", "message is not valid UTF-8") from None
            raise Rejected("invalid_json", str(exc)) from None
        if not isinstance(body, dict):
            raise Rejected("not_an_object", f"JSON {type(body).__name__}, expected an object")
        found = body.get("type")
        known = self._validators.get(found) if isinstance(found, str) else None
        if known is None:
            raise Rejected("unknown_type", f"type {str(found)[:40]!r} is not one of {EVENT_TYPES}")
        kind, check = known
        if expected_type is not None and kind != expected_type:
            raise Rejected("type_topic_mismatch", f"type {kind!r} on the {expected_type} topic")
        try:
            check(body)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise Rejected("schema_violation", exc.message) from None
        # The schema accepted it, so its Structs do (tests/unit/contract/test_structs.py: the
        # Structs state the schemas, less only the checks made above); one body type for all.
        try:
            event: InputEvent = _convert(body, InputEvent)
        except msgspec.ValidationError as exc:  # pragma: no cover - a schema/Struct drift
            raise Rejected("schema_violation", str(exc)) from None
        return event


_fast_decode = msgspec.json.Decoder(InputEvent).decode
_convert = msgspec.convert
#: The event type of each Struct (its tag).
_KINDS: dict[type[InputEvent], EventType] = {
    Booking: "booking",
    Hit: "hit",
    Detainer: "detainer",
    Release: "release",
}
_DATE_TIME = DATE_TIME.match


@functools.lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for "../x", OSError, ...
        return False
    return True


def _is_invalid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
