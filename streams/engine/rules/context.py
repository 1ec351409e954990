"""What a rule function receives (``Context``) and returns (``Finding``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.contract.timestamps import isoformat
from streams.engine import calendar
from streams.engine.case import Case, Detainer
from streams.engine.rules.registry import Evaluate, case_rules
from streams.policy.model import Policy


@dataclass(frozen=True, slots=True)
class Finding:
    """Details hold only facts known at ``at``: anything later would make a firing alert depend
    on whether a later event happened to arrive before the watermark reached ``at``.

    ``detainer`` names the detainer of a per-detainer rule: it is part of the alert's identity, so
    two detainers of one booking with the same ``at`` are two alerts with their own lifecycle, not
    one alert that the first lift resolves. Empty for a rule about the booking as a whole."""

    rule: str
    at: int  # occurred_at: when the violation became true
    resolved_at: int | None  # when it stopped (custody ended, detainer lifted, ...), if known
    details: dict[str, Any]
    detainer: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        """The alert's identity within its case (the emitted state): rule, at, detainer."""
        return (self.rule, self.at, self.detainer)


class Place:
    """What the rules read from the policy for one (jurisdiction, booking time zone): the zone,
    the holiday subdivision and the rules enabled there. Looked up once per place (``Places``)."""

    __slots__ = ("rules", "subdivision", "zone", "zone_name")

    def __init__(self, policy: Policy, jurisdiction: str | None, timezone: str | None) -> None:
        self.zone_name = policy.timezone_for(jurisdiction, timezone)
        self.zone = calendar.zone(self.zone_name)
        self.subdivision = policy.holiday_subdivision(jurisdiction)
        self.rules: tuple[Evaluate, ...] = tuple(
            rule.evaluate
            for rule in case_rules()
            if rule.evaluate is not None and policy.rule_enabled(rule.name, jurisdiction)
        )


class Places:
    """``Place`` per (jurisdiction, time zone) of one policy; bounded (the keys come from input)."""

    MAX = 4096

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._places: dict[tuple[str | None, str | None], Place] = {}

    def get(self, jurisdiction: str | None, timezone: str | None) -> Place:
        key = (jurisdiction, timezone)
        place = self._places.get(key)
        if place is None:
            if len(self._places) >= self.MAX:
                self._places.clear()
            place = self._places[key] = Place(self.policy, jurisdiction, timezone)
        return place


class Context:
    """What every rule needs besides the case: the policy and the case's local time zone."""

    __slots__ = ("case", "place", "policy", "zone", "zone_name")

    def __init__(self, case: Case, policy: Policy, place: Place | None = None) -> None:
        self.case = case
        self.policy = policy
        if place is None:
            place = Place(policy, case.jurisdiction, case.timezone)
        self.place = place
        self.zone_name = place.zone_name
        self.zone = place.zone

    def ts(self, moment: int | None) -> str | None:
        return None if moment is None else isoformat(moment, self.zone)

    def deadline(self, detainer: Detainer) -> int:
        """The detainer's hold deadline: the form's limit counted from release eligibility."""
        assert self.case.eligible_at is not None and detainer.form is not None
        return calendar.deadline(
            self.case.eligible_at,
            self.policy.forms[detainer.form],
            self.zone_name,
            self.policy.calendar.country,
            self.place.subdivision,
        )
