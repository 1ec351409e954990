"""What a replay did, as numbers (for tests, reports, metrics) and as text (for people)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from streams.contract.timestamps import isoformat
from streams.engine.watermark import NEVER


@dataclass
class ReplaySummary:
    events_read: int = 0
    blank_lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    late: int = 0
    # The event clock: events held for corroboration (ever), and of those the released ones;
    # the others are the dead letters ``future``.
    held: int = 0
    released: int = 0
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    open_cases: int = 0
    cases_without_booking: int = 0
    watermark: int = NEVER
    # The jurisdiction monitor's fact accounting: facts, duplicates, late, too_late, ...
    jurisdiction_facts: Counter[str] = field(default_factory=Counter)
    # Bookings accepted with a jurisdiction outside the policy table (their own time zone).
    unlisted_jurisdiction: int = 0
    # Accepted releases/lifts/services later dropped: their booking or issue, arriving after
    # them, is dated later (engine/case.py; in the other order they are inconsistent_time).
    inconsistent_ignored: int = 0

    @property
    def dead_letter_total(self) -> int:
        return sum(self.dead_letters.values())

    def balanced(self) -> bool:
        """The accounting identity: every input ends as accepted, duplicate or dead letter."""
        return self.events_read == self.accepted + self.duplicates + self.dead_letter_total

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_read": self.events_read,
            "blank_lines": self.blank_lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "late": self.late,
            "held": self.held,
            "released": self.released,
            "future": self.dead_letters["future"],
            "alerts": {f"{rule}/{state}": n for (rule, state), n in sorted(self.alerts.items())},
            "open_cases": self.open_cases,
            "cases_without_booking": self.cases_without_booking,
            "watermark": None if self.watermark == NEVER else isoformat(self.watermark),
            "jurisdiction_facts": dict(sorted(self.jurisdiction_facts.items())),
            "unlisted_jurisdiction": self.unlisted_jurisdiction,
            "inconsistent_ignored": self.inconsistent_ignored,
        }

    def render(self) -> str:
        width = 28
        lines = ["holdwatch replay summary"]

        def row(label: str, value: object) -> None:
            lines.append(f"  {label:<{width}} {value}")

        row("events read", self.events_read)
        row("accepted", self.accepted)
        row("duplicates", self.duplicates)
        row("dead letters", self.dead_letter_total)
        for reason, n in sorted(self.dead_letters.items()):
            row(f"  {reason}", n)
        row("late (applied)", self.late)
        if self.held:
            row("held for the event clock", self.held)
            row("  released (applied)", self.released)
            row("  future (dead letters)", self.dead_letters["future"])
        if self.unlisted_jurisdiction:
            row("unlisted jurisdiction (own tz)", self.unlisted_jurisdiction)
        if self.inconsistent_ignored:
            row("inconsistent facts ignored", self.inconsistent_ignored)
        if self.blank_lines:
            row("blank lines (ignored)", self.blank_lines)
        row("open cases at end", self.open_cases)
        row("cases without booking event", self.cases_without_booking)
        row("watermark at end", self.to_dict()["watermark"])
        if self.jurisdiction_facts:
            facts = self.jurisdiction_facts
            row("detainer facts (monitor)", facts["facts"])
            for reason in ("too_late", "no_jurisdiction", "disabled", "duplicates"):
                if facts[reason]:
                    row(f"  {reason.replace('_', ' ')}", facts[reason])
        fired = Counter({rule: n for (rule, state), n in self.alerts.items() if state == "firing"})
        resolved = Counter(
            {rule: n for (rule, state), n in self.alerts.items() if state == "resolved"}
        )
        lines.append(f"  alerts by rule{'':<{width - 14}} firing  resolved")
        for rule in sorted(set(fired) | set(resolved)):
            lines.append(f"    {rule:<{width - 2}} {fired[rule]:>6}  {resolved[rule]:>8}")
        if not fired and not resolved:
            lines.append("    (none)")
        return "\n".join(lines)
