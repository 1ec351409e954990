"""The engine's record of one booking: the case (what the events said) and the bookkeeping.

``Case`` (``case.py``) is data, folded by ``apply``; the rules read only it. What the engine keeps
about a case lives here: the alerts it has emitted (part of the stored state: a restarted worker
must not fire them again), the due time of its timer entry and the rules' cached findings (both
rebuilt, never stored). Keeping them out of ``Case`` is what lets ``case.py`` know nothing of the
rules or the alerts.

``CaseRecord`` extends ``Case`` rather than holding one: one object per open case (the bench
``memory`` row counts bytes per case), and code that only reads facts takes a record as a case.

Stored layout (a changelog-backed table): the case's primitive plus ``"e"``, the emitted alerts.
Records written before this split have the same layout, so they load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from streams.engine import case as facts
from streams.engine.case import Case
from streams.engine.rules.context import Finding

#: An emitted alert's identity within its case: (rule, occurred_at, detainer id or "").
EmittedKey = tuple[str, int, str]
#: No alerts emitted yet: shared, read-only; ``record_emitted`` replaces it by a dict.
NO_EMITTED: Mapping[EmittedKey, str] = MappingProxyType({})


def _no_emitted() -> Mapping[EmittedKey, str]:
    return NO_EMITTED


@dataclass(slots=True)
class CaseRecord(Case):
    # Alerts already emitted: (rule, occurred_at, detainer id or "") -> "firing" | "resolved";
    # write through ``record_emitted`` (the default is a shared read-only empty mapping).
    emitted: Mapping[EmittedKey, str] = field(default_factory=_no_emitted)
    # Due time of this case's pending timer entry (rebuilt on recovery, never stored).
    timer_at: int | None = None
    # The rules' findings for the case as it is now: rules are pure functions of the case, so a
    # timer pass reuses them; the engine clears them whenever it applies an event. Never stored.
    findings: list[Finding] | None = field(default=None, compare=False, repr=False)

    def record_emitted(self, key: EmittedKey, state: str) -> None:
        emitted = self.emitted
        if not isinstance(emitted, dict):
            emitted = dict(emitted)
            self.emitted = emitted
        emitted[key] = state


def to_primitive(record: CaseRecord) -> dict[str, Any]:
    """A JSON-able dict (for a changelog-backed table); ``from_primitive`` inverts it."""
    data = facts.to_primitive(record)
    # [rule, at, state] for a booking-level alert (the layout before per-detainer keys),
    # [rule, at, state, detainer] for a per-detainer one.
    data["e"] = [
        [rule, at, state, detainer] if detainer else [rule, at, state]
        for (rule, at, detainer), state in record.emitted.items()
    ]
    return data


def _emitted_entry(entry: list[Any]) -> tuple[EmittedKey, str]:
    """One stored emitted entry. A changelog written before per-detainer keys holds
    ``[rule, at, state]`` for every alert: it loads with no detainer, and ``alerts.reconcile``
    lets the first detainer's finding with that rule and time continue it under its old id (so
    its ``resolved`` matches the ``firing`` already sent); the other detainers fire anew."""
    if len(entry) == 3:
        rule, at, state = entry
        return (rule, at, ""), state
    rule, at, state, detainer = entry
    return (rule, at, detainer), state


def from_primitive(data: dict[str, Any]) -> CaseRecord:
    emitted = dict(_emitted_entry(entry) for entry in data.get("e", ()))
    return CaseRecord(**facts.fields_of(data), emitted=emitted or NO_EMITTED)
