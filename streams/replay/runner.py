"""Run the engine in-process over the lines of a recorded log.

Feeding the log in one piece or many gives the same alerts: the engine only ever sees events
one at a time, and the end of the log (``finish``) is the only place the watermark is moved by
anything but event times. An event the event clock holds (``engine/event_clock.py``) is counted
when it settles: accepted once released, or the dead letter ``future`` with its original bytes
and line number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from streams.contract.dead_letters import dead_letter
from streams.contract.decode import Decoder, Rejected
from streams.contract.vocabulary import DeadLetterReason
from streams.engine.alerts import Emit
from streams.engine.processor import (
    ACCEPTED,
    DUPLICATE,
    FUTURE_DETAIL,
    HELD,
    Engine,
    HeldEvent,
)
from streams.engine.share_monitor import Evaluated, ShareMonitor
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
        on_evaluate: Evaluated | None = None,
    ) -> None:
        # The jurisdiction monitor gets the engine's detainer facts as they are reported and its
        # watermark after every event: facts first, then the midnights the watermark reached.
        self.monitor = ShareMonitor(policy, on_evaluate)
        self.engine = Engine(
            policy, on_alert, on_fact=self.monitor.accept, on_settled=self._settled
        )
        self.on_alert = on_alert
        self.decoder = decoder or Decoder()
        self.on_dead_letter = on_dead_letter
        self.summary = ReplaySummary()
        self.line_number = 0
        self.monitor_alerts: Counter[tuple[str, str]] = Counter()

    def _advance_monitor(self, watermark: int) -> None:
        for alert in self.monitor.advance_to(watermark):
            self.monitor_alerts[(alert["rule"], alert["state"])] += 1
            self.on_alert(alert)

    def _settled(self, held: HeldEvent, outcome: str, rejected: Rejected | None) -> None:
        """A held event ended: applied once corroborated, given up as ``future``, or refused by
        its case when released (a dead letter of that reason)."""
        summary = self.summary
        if outcome == ACCEPTED:
            summary.accepted += 1
            summary.released += 1
            return
        _, (line, line_number) = held.item
        reason: DeadLetterReason
        reason, detail = (
            ("future", FUTURE_DETAIL) if rejected is None else (rejected.reason, rejected.detail)
        )
        summary.dead_letters[reason] += 1
        self.on_dead_letter(dead_letter(line, reason, detail, line=line_number))

    def feed(self, lines: Iterable[bytes]) -> None:
        """Process the next lines of the log (any chunking)."""
        decode = self.decoder.decode
        process = self.engine.process
        summary = self.summary
        watermark = self.engine.watermark
        monitor = self.monitor
        line_number = self.line_number
        # The two counts every line moves are kept in locals and added on the way out (also
        # when a line raises): ``_settled`` adds to ``accepted`` meanwhile, so they are added,
        # never assigned.
        read = accepted = 0
        try:
            for raw in lines:
                line_number += 1
                line = raw.rstrip(b"\r\n")
                if not line or line.isspace():  # ``not line.strip()`` without the copy
                    summary.blank_lines += 1
                    continue
                read += 1
                try:
                    result = process(decode(line), True, (line, line_number))
                    if result is ACCEPTED:  # the engine returns its constants themselves
                        accepted += 1
                    elif result == DUPLICATE:
                        summary.duplicates += 1
                    elif result == HELD:
                        summary.held += 1
                    else:
                        accepted += 1
                    mark = watermark.value
                    if mark > monitor.watermark:
                        # The monitor is consulted only when a local midnight is due; until then
                        # it only notes the watermark (what ``advance_to`` would do).
                        if mark < monitor.next_due:
                            monitor.watermark = mark
                        else:
                            self._advance_monitor(mark)
                except Rejected as rejected:
                    summary.dead_letters[rejected.reason] += 1
                    self.line_number = line_number
                    self.on_dead_letter(
                        dead_letter(line, rejected.reason, rejected.detail, line=line_number)
                    )
        finally:
            self.line_number = line_number
            summary.events_read += read
            summary.accepted += accepted

    def finish(self, until: int | None = None) -> ReplaySummary:
        """End of log: settle held events, move the watermark past ``until`` (default: the newest
        applied event, see ``Engine.finish``)."""
        engine = self.engine
        engine.finish(until)
        self._advance_monitor(engine.watermark.value)
        summary = self.summary
        summary.late = sum(engine.stats.late.values())
        summary.unlisted_jurisdiction = engine.stats.unlisted_jurisdiction
        summary.inconsistent_ignored = engine.stats.inconsistent_ignored
        summary.alerts = engine.stats.alerts.copy() + self.monitor_alerts
        summary.jurisdiction_facts = self.monitor.stats.copy()
        summary.open_cases = engine.open_cases()
        summary.cases_without_booking = (
            engine.cases_without_booking() + engine.stats.evicted_without_booking
        )
        summary.watermark = engine.watermark.value
        return summary
