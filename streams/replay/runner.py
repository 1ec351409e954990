"""Run the engine in-process over the lines of a recorded log.

Feeding the log in one piece or many gives the same alerts: the engine only ever sees events
one at a time, and the end of the log (``finish``) is the only place the watermark is moved by
anything but event times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from streams.contract.decode import Decoder, Rejected
from streams.contract.dead_letters import dead_letter
from streams.engine.alerts import Emit
from streams.engine.processor import DUPLICATE, Engine
from streams.policy.model import Policy
from streams.replay.summary import ReplaySummary

DeadLetterSink = Callable[[dict[str, Any]], None]


def _discard(record: dict[str, Any]) -> None:
    return None


class InProcessReplay:
    def __init__(
        self,
        policy: Policy,
        on_alert: Emit,
        on_dead_letter: DeadLetterSink = _discard,
        decoder: Decoder | None = None,
    ) -> None:
        self.engine = Engine(policy, on_alert)
        self.decoder = decoder or Decoder()
        self.on_dead_letter = on_dead_letter
        self.summary = ReplaySummary()
        self.line_number = 0

    def feed(self, lines: Iterable[bytes]) -> None:
        """Process the next lines of the log (any chunking)."""
        decode = self.decoder.decode
        process = self.engine.process
        summary = self.summary
        for raw in lines:
            self.line_number += 1
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                summary.blank_lines += 1
                continue
            summary.events_read += 1
            try:
                if process(decode(line)) == DUPLICATE:
                    summary.duplicates += 1
                else:
                    summary.accepted += 1
            except Rejected as rejected:
                summary.dead_letters[rejected.reason] += 1
                self.on_dead_letter(
                    dead_letter(line, rejected.reason, rejected.detail, line=self.line_number)
                )

    def finish(self, until: int | None = None) -> ReplaySummary:
        """End of log: move the watermark to ``until`` (default: the last event time)."""
        engine = self.engine
        end = until if until is not None else engine.watermark.max_event_at
        engine.advance_to(end)
        summary = self.summary
        summary.late = sum(engine.stats.late.values())
        summary.alerts = engine.stats.alerts.copy()
        summary.open_cases = engine.open_cases()
        summary.cases_without_booking = engine.cases_without_booking() + engine.stats.evicted_without_booking
        summary.watermark = engine.watermark.value
        return summary
