"""The jail's own decisions as a test of a local-policy overlay (Travis County, February 2017).

On 1 February 2017 the Travis County Sheriff's new detainer policy took effect; three jail reports
of 13 February 2017 (``travis_policy_change_2017-02.csv.gz``) list the bookings whose detainer was
kept (``accepted_2017-02-01``), dropped by the policy (``released_by_policy_R217``) and dropped,
then reinstated because ICE produced a warrant (``released_then_reinstated_with_ice_warrant``).

Each booking's charges are mapped exactly as the importer maps them
(:func:`streams.importers.travis_county.charge_of`, same row kinds), and the ``TX-Travis`` overlay
of the policy decides with the engine's own clause test
(:func:`streams.engine.local_policy.clause_holds`; no hit is known: the source has none). The
result is a confusion table, jail (kept / dropped) x overlay (honoured / declined), with every
disagreement listed. A second table applies the published list of offences itself (matched on the
charge text) to show what the overlay language loses by having only severity and category.

A reinstated booking counts as *dropped* by the policy: the policy released the hold, the warrant
came afterwards and is outside both the policy text and the data the overlay sees.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.engine.local_policy import clause_holds
from streams.importers.mapping import Charge, RowKind
from streams.importers.reader import read_records
from streams.importers.travis_county import charge_of, row_kind
from streams.policy.model import LocalPolicy

REPORTS = {
    "accepted_2017-02-01": "kept",
    "released_by_policy_R217": "dropped",
    "released_then_reinstated_with_ice_warrant": "dropped",
}
COLUMNS = ("report", "booking_key", "charge_code", "charge_literal", "charge_level")

# The offences of the published policy (KUT, 20 Mar and 1 Jun 2017; the Sheriff's statement of
# 20 Jan 2017): capital or first-degree murder, aggravated sexual assault, continuous smuggling
# or trafficking of persons. Matched on the jail's charge text.
PUBLISHED_OFFENCES = re.compile(
    r"MURDER|AGG(RAVATED)? SEXUAL ASS|SMUGGLING OF PERSONS|TRAFFICKING OF PERSONS"
)


@dataclass(frozen=True)
class JailDecision:
    booking_key: str
    report: str
    jail: str  # kept | dropped
    charges: tuple[Charge, ...]

    @property
    def reinstated(self) -> bool:
        return self.report == "released_then_reinstated_with_ice_warrant"


def read_decisions(path: Path) -> tuple[list[JailDecision], list[str]]:
    """The bookings of the three reports (file order), and problems (line: reason) met."""
    problems: list[str] = []
    charges: dict[tuple[str, str], list[Charge]] = {}
    for record in read_records(path, "|", COLUMNS):
        row = record.row
        if record.problem:
            problems.append(f"line {record.line}: {record.problem}")
            continue
        report = row["report"].strip()
        if report not in REPORTS:
            problems.append(f"line {record.line}: unknown report {report!r}")
            continue
        key = (report, row["booking_key"].strip())
        found = charges.setdefault(key, [])
        if row_kind(row) is RowKind.CHARGE:
            found.append(charge_of(row["charge_code"], row["charge_literal"], row["charge_level"]))
    decisions = [
        JailDecision(key, report, REPORTS[report], tuple(found))
        for (report, key), found in charges.items()
    ]
    return decisions, problems


def overlay_honours(overlay: LocalPolicy, charges: Sequence[Charge]) -> bool:
    """What the overlay's ``honor_when`` says for a booking with ``charges`` and no known hit."""
    if overlay.decline_all:
        return False
    if not overlay.honor_when:
        return True
    pairs = tuple((c.severity, c.category) for c in charges)
    return any(clause_holds(clause, None, pairs) for clause in overlay.honor_when)


def published_honours(charges: Sequence[Charge]) -> bool:
    """The published list of offences, on the charge text."""
    return any(PUBLISHED_OFFENCES.search(c.code.upper()) for c in charges)


@dataclass
class OverlayCheck:
    overlay: str
    decisions: list[JailDecision]
    overlay_says: dict[str, bool]  # booking key|report -> honoured
    published_says: dict[str, bool]

    @staticmethod
    def key(d: JailDecision) -> str:
        return f"{d.booking_key}|{d.report}"

    def confusion(self, says: dict[str, bool]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for d in self.decisions:
            counts[f"{d.jail}/{'honoured' if says[self.key(d)] else 'declined'}"] += 1
        return {
            name: counts[name]
            for name in ("kept/honoured", "kept/declined", "dropped/honoured", "dropped/declined")
        }

    def disagreements(self, says: dict[str, bool]) -> list[JailDecision]:
        return [d for d in self.decisions if (d.jail == "kept") != says[self.key(d)]]

    def agreement(self, says: dict[str, bool]) -> float | None:
        if not self.decisions:
            return None
        return 1 - len(self.disagreements(says)) / len(self.decisions)

    def to_json(self) -> dict[str, Any]:
        def cases(says: dict[str, bool]) -> list[dict[str, Any]]:
            return [
                {
                    "booking_key": d.booking_key,
                    "report": d.report,
                    "jail": d.jail,
                    "charges": [f"{c.code} [{c.severity}/{c.category}]" for c in d.charges],
                }
                for d in self.disagreements(says)
            ]

        return {
            "overlay": self.overlay,
            "bookings": len(self.decisions),
            "by_report": dict(Counter(d.report for d in self.decisions)),
            "overlay_confusion": self.confusion(self.overlay_says),
            "overlay_agreement": _round(self.agreement(self.overlay_says)),
            "overlay_disagreements": cases(self.overlay_says),
            "published_list_confusion": self.confusion(self.published_says),
            "published_list_agreement": _round(self.agreement(self.published_says)),
            "published_list_disagreements": cases(self.published_says),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def check(decisions: Iterable[JailDecision], overlay: LocalPolicy) -> OverlayCheck:
    listed = list(decisions)
    return OverlayCheck(
        overlay=overlay.name,
        decisions=listed,
        overlay_says={OverlayCheck.key(d): overlay_honours(overlay, d.charges) for d in listed},
        published_says={OverlayCheck.key(d): published_honours(d.charges) for d in listed},
    )
