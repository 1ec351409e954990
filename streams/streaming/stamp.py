"""The replay producer's side of the watermark protocol (see ``headers``).

The producer runs the same decoder and the same watermark as the in-process replay over the log,
and stamps each valid event with the watermark just before it. Invalid lines are still sent to
their type's topic (the worker dead-letters them with topic, partition and offset); a line whose
type cannot even be read cannot be routed and is dead-lettered by the producer with its line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams.contract.dead_letters import dead_letter
from streams.contract.decode import Decoder, Rejected
from streams.engine.watermark import Watermark
from streams.policy.model import Policy

EVENT_TYPES = ("booking", "hit", "detainer", "release")


@dataclass(slots=True)
class Stamped:
    event_type: str | None  # None: unroutable, see ``dead_letter``
    key: bytes | None
    value: bytes
    watermark: int | None  # the producer's watermark before this event; None when invalid
    dead_letter: dict[str, Any] | None = None


class Stamper:
    def __init__(self, policy: Policy, decoder: Decoder | None = None) -> None:
        self.decoder = decoder or Decoder()
        self.watermark = Watermark(policy.allowed_lateness)

    def stamp(self, line: bytes, line_number: int) -> Stamped:
        before = self.watermark.value
        try:
            event = self.decoder.decode(line)
        except Rejected as rejected:
            return self._route_invalid(line, line_number, rejected)
        self.watermark.observe(event.at)
        return Stamped(event.type, event.booking_id.encode(), line, before)

    def _route_invalid(self, line: bytes, line_number: int, rejected: Rejected) -> Stamped:
        try:
            body = orjson.loads(line)
        except orjson.JSONDecodeError:
            body = None
        kind = body.get("type") if isinstance(body, dict) else None
        if isinstance(kind, str) and kind in EVENT_TYPES:
            booking = body.get("booking_id") if isinstance(body, dict) else None
            key = booking.encode() if isinstance(booking, str) and booking else None
            return Stamped(kind, key, line, None)
        record = dead_letter(line, rejected.reason, rejected.detail, line=line_number)
        return Stamped(None, None, line, None, record)
