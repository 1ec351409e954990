"""One partition number's worth of work: merge its input topics by watermark, drive the engine.

Every booking's events land in the same partition number of the four input topics (same key,
same partition count). The partition's watermark is the minimum over those topics of how far
each has delivered (Flink's rule), so a deadline never fires while a topic that might still hold
a release for it lags behind.

Replay-mode events carry the producer's watermark (``hw-wm``) and sequence (``hw-seq``); they are
held until every topic has moved strictly past it and then applied in (watermark, sequence)
order, each after the engine has been advanced to its watermark: the same order of "apply" and "fire" as the in-process replay, so the
same alerts, however the topics interleave. Live events carry no header and are applied at once;
with a wall clock (live mode) one dated more than ``max_clock_skew`` ahead of it is the dead
letter ``future``, and the floor a live event raises is min(its time, now) − lateness, so no
event time the wall clock has not reached can move the watermark.

Every control header (tick, barrier, event watermark) must carry a valid ``hw-sig`` for its
topic-partition (``control``); a message whose control headers are not authentic is the dead
letter ``forged_control`` as a whole and moves nothing.

Pure Python: the Faust agent feeds messages in and acts on what comes out.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from streams.contract.dead_letters import dead_letter
from streams.contract.decode import Decoder, Rejected
from streams.contract.events import Event
from streams.contract.vocabulary import DeadLetterReason
from streams.engine.alerts import Emit
from streams.engine.clock import Clock
from streams.engine.processor import Engine
from streams.engine.record import CaseRecord
from streams.engine.share_monitor import DetainerFact
from streams.policy.model import Policy
from streams.streaming import control as ctl
from streams.streaming import headers as hdr
from streams.streaming.merge import InputFrontier


@dataclass(slots=True)
class Outcome:
    """What became of one input message; ``token`` is the caller's handle (to ack it)."""

    token: Any
    event_type: str
    result: str  # "accepted" | "duplicate" | "dead_letter" | "tick"
    late: bool = False
    dead_letter: dict[str, Any] | None = None
    event_at: int | None = None
    received: float = 0.0  # perf_counter when the message arrived
    validated: float = 0.0  # perf_counter when it passed the contract
    # Seconds spent on this message itself (decode, validate, engine), without the time it was
    # held for the watermark merge: the hot path, which "decided" - "received" is not in replay.
    processed: float = 0.0
    unlisted: bool = False  # a booking accepted with a jurisdiction outside the policy table
    ignored: int = 0  # stored facts this event's time made inconsistent (engine/case.py)


def rejected_outcome(
    token: Any,
    kind: str,
    raw: bytes,
    reason: DeadLetterReason,
    detail: str,
    where: dict[str, Any],
    received: float = 0.0,
    validated: float = 0.0,
) -> Outcome:
    """A message that ends as a dead letter: its reason, detail and original bytes, and where it
    was read (topic, partition, offset, key). The one place both agents build one."""
    record = dead_letter(raw, reason, detail, **where)
    return Outcome(
        token, kind, "dead_letter", dead_letter=record, received=received, validated=validated
    )


@dataclass(order=True, slots=True)
class _Held:
    watermark: int
    seq: int
    event: Event = field(compare=False)
    raw: bytes = field(compare=False)
    where: dict[str, Any] = field(compare=False)
    token: Any = field(compare=False)
    received: float = field(compare=False)
    validated: float = field(compare=False)


class PartitionDriver:
    def __init__(
        self,
        partition: int,
        topics: Iterable[str],
        policy: Policy,
        emit: Emit,
        store: MutableMapping[str, CaseRecord] | None = None,
        decoder: Decoder | None = None,
        type_of_topic: dict[str, str] | None = None,
        on_fact: Callable[[DetainerFact], None] | None = None,
        on_watermark: Callable[[int], None] | None = None,
        wall_clock: Clock | None = None,
        control: ctl.ControlKey | None = None,
    ) -> None:
        self.partition = partition
        # Verifying is not optional: without a key given, the environment's (dev key outside
        # production), the one the replay producer and live workers sign with.
        self.control = control or ctl.from_env()
        self.policy = policy
        self.engine = Engine(policy, emit, store, on_fact=on_fact)
        # Called with the engine's watermark after every move, once the facts it reported are out
        # (the jurisdiction repartition forwards both, in this order).
        self.on_watermark = on_watermark
        self.wall_clock = wall_clock  # live mode: header-less events are checked against it
        self.decoder = decoder or Decoder()
        self.topics: InputFrontier[str] = InputFrontier(topics)
        self.type_of_topic = type_of_topic or {}
        self._held: list[_Held] = []
        self._seq = 0

    @property
    def watermark(self) -> int:
        return self.topics.watermark

    @property
    def floors(self) -> dict[str, int]:
        """How far each input topic has delivered."""
        return self.topics.floors

    @property
    def held(self) -> int:
        return len(self._held)

    def on_message(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: hdr.Headers | None,
        offset: int,
        token: Any = None,
        received: float = 0.0,
    ) -> tuple[list[Outcome], list[str]]:
        """Feed one message; returns outcomes of every message settled now, and completed barriers."""
        settled: list[Outcome] = []
        completed: list[str] = []
        try:
            self.control.check(topic, self.partition, headers)
        except ctl.ForgedControl as forged:
            where = {"topic": topic, "partition": self.partition, "offset": offset, "key": key}
            kind = self.type_of_topic.get(topic, "unknown")
            forged_detail = str(forged)
            raw = value or b""
            settled.append(
                rejected_outcome(token, kind, raw, "forged_control", forged_detail, where, received)
            )
            return settled, completed
        tick = hdr.time_header(headers, hdr.TICK)
        if tick is not None:
            self.topics.raise_floor(topic, tick)
            barrier = hdr.header(headers, hdr.BARRIER)
            if barrier is not None:
                run = barrier.decode("utf-8", "replace")
                if self.topics.barrier(topic, run):
                    completed.append(run)
            settled.append(Outcome(token, "tick", "tick", received=received))
            self._release(settled)
            return settled, completed

        raw = value or b""
        where = {"topic": topic, "partition": self.partition, "offset": offset, "key": key}
        expected = self.type_of_topic.get(topic)
        try:
            event = self.decoder.decode(
                raw, expected_type=expected, key=key if key is not None else b""
            )
        except Rejected as rejected:
            kind = expected or "unknown"
            reason, detail = rejected.reason, rejected.detail
            settled.append(rejected_outcome(token, kind, raw, reason, detail, where, received))
            return settled, completed
        validated = perf_counter()
        stamped = hdr.time_header(headers, hdr.WATERMARK)
        if stamped is None:  # live: apply now; this topic has delivered up to at - lateness
            floor = event.at
            if self.wall_clock is not None:
                now = self.wall_clock.now()
                if event.at > now + self.policy.max_clock_skew:
                    detail = "occurred_at is more than max_clock_skew ahead of the wall clock"
                    settled.append(
                        rejected_outcome(
                            token, event.type, raw, "future", detail, where, received, validated
                        )
                    )
                    return settled, completed
                floor = min(floor, now)
            settled.append(self._apply(event, raw, where, token, received, validated))
            self.topics.raise_floor(topic, floor - self.policy.allowed_lateness)
        else:
            self.topics.raise_floor(topic, stamped)
            self._seq += 1
            # Equal watermarks: the producer's order (``hw-seq``), else the order of arrival.
            order = hdr.time_header(headers, hdr.SEQUENCE)
            held = _Held(
                stamped,
                self._seq if order is None else order,
                event,
                raw,
                where,
                token,
                received,
                validated,
            )
            heapq.heappush(self._held, held)
        self._release(settled)
        return settled, completed

    def advance_all(self, at: int) -> list[Outcome]:
        """Every topic has delivered up to ``at`` (used when a partition is known to be idle)."""
        for topic in list(self.topics.floors):
            self.topics.raise_floor(topic, at)
        settled: list[Outcome] = []
        self._release(settled)
        return settled

    def _release(self, settled: list[Outcome]) -> None:
        mark = self.watermark
        held = self._held
        engine = self.engine
        before = engine.watermark.value
        while held and held[0].watermark < mark:
            item = heapq.heappop(held)
            engine.advance_to(item.watermark)
            settled.append(
                self._apply(
                    item.event, item.raw, item.where, item.token, item.received, item.validated
                )
            )
        engine.advance_to(mark)
        if self.on_watermark is not None and engine.watermark.value != before:
            self.on_watermark(engine.watermark.value)

    def _apply(
        self,
        event: Event,
        raw: bytes,
        where: dict[str, Any],
        token: Any,
        received: float,
        validated: float,
    ) -> Outcome:
        late = event.at < self.engine.watermark.value
        started = perf_counter()
        stats = self.engine.stats
        unlisted, ignored = stats.unlisted_jurisdiction, stats.inconsistent_ignored
        try:
            result = self.engine.process(event, observe=False)
        except Rejected as rejected:
            reason, detail = rejected.reason, rejected.detail
            return rejected_outcome(
                token, event.type, raw, reason, detail, where, received, validated
            )
        return Outcome(
            token,
            event.type,
            result,
            late=late and result == "accepted",
            event_at=event.at,
            received=received,
            validated=validated,
            processed=(validated - received) + (perf_counter() - started),
            unlisted=stats.unlisted_jurisdiction != unlisted,
            ignored=stats.inconsistent_ignored - ignored,
        )
