"""The engine's record of one booking: the case (what the events said) and the bookkeeping.

``Case`` (``case.py``) is data, folded by ``apply``; the rules read only it. What the engine keeps
about a case lives here: the alerts it has emitted (part of the stored state: a restarted worker
must not fire them again), per detainer the watermark its issue was applied at and whether its
fact went to the jurisdiction monitor (stored too: the monitor must count each detainer once, with
the same ``known_at``), the due time of its timer entry and the rules' cached findings (both
rebuilt, never stored). Keeping them out of ``Case`` and ``Detainer`` is what lets ``case.py``
know nothing of the rules, the alerts or the monitor.

``CaseRecord`` extends ``Case`` rather than holding one, and its detainers are ``DetainerRecord``
(a ``Detainer`` plus the two fields) rather than facts beside a mapping of bookkeeping: one object
per open case and per detainer, as before the split (the bench ``memory`` row counts bytes per
case; a tuple of marks beside the detainers measured 2% more), and code that only reads facts
takes a record as a case.

Stored layout (a changelog-backed table): the case's primitive, each ``"d"`` entry followed by
the detainer's ``issued_mark`` and ``reported`` (items 6 and 7, after its six facts), plus
``"e"``, the emitted alerts. It is the layout of the records written while these lived on the
case, so those load unchanged and are written back byte for byte (tests/unit/engine/
test_record.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from streams.contract.events import Event
from streams.engine import case as facts
from streams.engine.case import Case, Detainer
from streams.engine.rules.context import Finding

#: An emitted alert's identity within its case: (rule, occurred_at, detainer id or "").
EmittedKey = tuple[str, int, str]
#: No alerts emitted yet: shared, read-only; ``record_emitted`` replaces it by a dict.
NO_EMITTED: Mapping[EmittedKey, str] = MappingProxyType({})


def _no_emitted() -> Mapping[EmittedKey, str]:
    return NO_EMITTED


@dataclass(slots=True)
class DetainerRecord(Detainer):
    """A detainer of a ``CaseRecord``: its facts and the engine's bookkeeping about it."""

    # The engine's watermark when the issuing event was applied (the stamp, in replay mode): with
    # issued_at it fixes when the jurisdiction monitor may first count the detainer.
    issued_mark: int | None = None
    reported: bool = False  # its detainer fact went to the jurisdiction monitor


@dataclass(slots=True)
class CaseRecord(Case):
    # The same tuple as ``Case.detainers`` (no slot of its own), of records: ``case.apply`` adds
    # a new one through ``detainer_type``.
    detainers: tuple[DetainerRecord, ...] = ()
    detainer_type: ClassVar[type[Detainer]] = DetainerRecord
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

    def detainer(self, detainer_id: str) -> DetainerRecord:
        found = Case.detainer(self, detainer_id)
        assert isinstance(found, DetainerRecord)
        return found

    def apply(self, event: Event, mark: int) -> int:
        """``case.apply`` the event; when it sets a detainer's issue (the earliest so far), note
        the engine's watermark ``mark`` against it. Returns what ``case.apply`` returns."""
        body: Any = event.body  # the Struct of ``event.type``
        if event.type != "detainer" or body.action != "issued":
            return facts.apply(self, event)
        detainer = self.detainer(body.detainer_id)  # where apply would add it
        issued = detainer.issued_at
        dropped = facts.apply(self, event)
        if detainer.issued_at != issued:
            detainer.issued_mark = mark
        return dropped


def to_primitive(record: CaseRecord) -> dict[str, Any]:
    """A JSON-able dict (for a changelog-backed table); ``from_primitive`` inverts it."""
    data = facts.to_primitive(record)
    for entry, detainer in zip(data["d"], record.detainers, strict=True):
        entry += (detainer.issued_mark, detainer.reported)  # items 6 and 7
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
    fields = facts.fields_of(data)
    # Each stored "d" entry: the six facts of ``Detainer``, then issued_mark and reported.
    fields["detainers"] = tuple(DetainerRecord(*entry) for entry in data["d"])
    return CaseRecord(**fields, emitted=emitted or NO_EMITTED)
