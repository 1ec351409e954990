"""The replay producer's side of the watermark protocol (see ``headers``).

The producer runs the same decoder and the same :class:`Engine` (alerts discarded) as the
in-process replay over the log, so it has the same event clock: the same duplicates (which move
no clock), the same held events, the same watermark. It sends events in the engine's
*application* order, each stamped with the watermark just before the engine applied it: an event
the clock holds is sent when it is released, and one that ends as ``future`` is a producer-side
dead letter with its line number. The worker's :class:`PartitionDriver` then applies them in the
same order at the same watermarks, so it fires the same alerts.

Invalid lines are still sent to their type's topic (the worker dead-letters them with topic,
partition and offset); a line whose type cannot even be read cannot be routed and is
dead-lettered by the producer with its line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams.contract.dead_letters import dead_letter
from streams.contract.decode import Decoder, Rejected
from streams.contract.vocabulary import EVENT_TYPES, DeadLetterReason, EventType
from streams.engine.alerts import Alert
from streams.engine.processor import (
    ACCEPTED,
    DUPLICATE,
    FUTURE_DETAIL,
    HELD,
    Engine,
    HeldEvent,
)
from streams.policy.model import Policy
from streams.streaming import headers as hdr


@dataclass(slots=True)
class Stamped:
    event_type: EventType | None  # None: not sent, see ``dead_letter``
    key: bytes | None
    value: bytes
    watermark: int | None  # the producer's watermark before this event; None when invalid
    dead_letter: dict[str, Any] | None = None
    seq: int = 0  # the producer's order of application (``hw-seq``), with a watermark

    def headers(self) -> list[tuple[str, bytes]]:
        """The in-band headers to send it with (``headers``)."""
        if self.watermark is None:
            return []
        return [
            (hdr.WATERMARK, hdr.encode_time(self.watermark)),
            (hdr.SEQUENCE, hdr.encode_time(self.seq)),
        ]


def _discard(alert: Alert) -> None:
    return None


class Stamper:
    def __init__(self, policy: Policy, decoder: Decoder | None = None) -> None:
        self.decoder = decoder or Decoder()
        self.engine = Engine(policy, _discard, on_settled=self._settled)
        self._out: list[Stamped] = []
        self._seq = 0
        # Re-sends of an event still held: the worker must never see them before the original.
        self.duplicates_of_held = 0

    @property
    def watermark(self) -> int:
        """The producer's watermark: a tick with it promises no event stamped earlier follows."""
        return self.engine.watermark.value

    @property
    def event_time(self) -> int:
        """The corroborated frontier (for pacing ``--speed``)."""
        return self.engine.frontier.value

    def stamp(self, line: bytes, line_number: int) -> list[Stamped]:
        """What to send now for this line, in order: nothing while the event is held; the event
        and then the held events its time released."""
        before = self.engine.watermark.value
        try:
            event = self.decoder.decode(line)
        except Rejected as rejected:
            return [self._route_invalid(line, line_number, rejected)]
        out = self._out = []
        try:
            result = self.engine.process(event, token=(line, line_number))
        except Rejected as rejected:
            # The engine refused it (expired, conflicting_duplicate, an admission check): a
            # dead letter here, with its line number, exactly as the in-process replay writes
            # it. Sent on, the worker could judge it against a case still missing held events.
            record = dead_letter(line, rejected.reason, rejected.detail, line=line_number)
            out.insert(0, Stamped(None, None, line, None, record))
            return self._number(out)
        if result == HELD:
            return self._number(out)
        if result == DUPLICATE and self.engine.holds(event):
            self.duplicates_of_held += 1
            return self._number(out)
        stamped = Stamped(event.type, event.booking_id.encode(), line, before)
        out.insert(0, stamped)
        return self._number(out)

    def finish(self, until: int | None = None) -> tuple[list[Stamped], int]:
        """End of the log (``Engine.finish``): the held events released or given up, in order,
        and the watermark the final tick must carry."""
        out = self._out = []
        self.engine.finish(until)
        return self._number(out), self.engine.watermark.value

    def _number(self, stamped: list[Stamped]) -> list[Stamped]:
        for item in stamped:
            if item.watermark is not None:
                self._seq += 1
                item.seq = self._seq
        return stamped

    def _settled(self, held: HeldEvent, outcome: str, rejected: Rejected | None) -> None:
        event, (line, line_number) = held.item
        if outcome == ACCEPTED:
            self._out.append(Stamped(event.type, event.booking_id.encode(), line, held.mark))
        else:  # ``future``, or refused by its case at release: the producer dead-letters it
            reason: DeadLetterReason
            reason, detail = (
                ("future", FUTURE_DETAIL)
                if rejected is None
                else (rejected.reason, rejected.detail)
            )
            record = dead_letter(line, reason, detail, line=line_number)
            self._out.append(Stamped(None, None, line, None, record))

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
