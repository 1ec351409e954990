"""What a rule function receives (``Context``) and returns (``Finding``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.contract.timestamps import isoformat
from streams.engine import calendar
from streams.engine.case import Case, Detainer
from streams.engine.rules.registry import Evaluate, case_rules
from streams.policy.model import Policy


@dataclass(frozen=True, slots=True, eq=False)
class Finding:
    """Details hold only facts known at ``at``: anything later would make a firing alert depend
    on whether a later event happened to arrive before the watermark reached ``at``.

    ``detainer`` names the detainer of a per-detainer rule: it is part of the alert's identity, so
    two detainers of one booking with the same ``at`` are two alerts with their own lifecycle, not
    one alert that the first lift resolves. Empty for a rule about the booking as a whole.

    A rule may give its details as a function that builds them: they are read only when an alert
    is emitted, while the rules run on every event applied (formatting timestamps for details that
    are thrown away was a tenth of the engine, issue 15). The function runs on the case as it was
    evaluated: the engine drops a case's findings whenever an event changes the case."""

    rule: str
    at: int  # occurred_at: when the violation became true
    resolved_at: int | None  # when it stopped (custody ended, detainer lifted, ...), if known
    made: dict[str, Any] | Callable[[], dict[str, Any]]  # the details, or what builds them
    detainer: str = ""

    @property
    def details(self) -> dict[str, Any]:
        """The details, built on first read and kept."""
        made = self.made
        if callable(made):
            made = made()
            object.__setattr__(self, "made", made)
        return made

    def __eq__(self, other: object) -> bool:
        """Equal when they say the same (details compared as built, however they were given)."""
        if not isinstance(other, Finding):
            return NotImplemented
        return (self.rule, self.at, self.resolved_at, self.detainer, self.details) == (
            other.rule,
            other.at,
            other.resolved_at,
            other.detainer,
            other.details,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable details: like the dict it holds

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
