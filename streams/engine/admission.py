"""Checks an event must pass against what its case already holds, before ``apply``.

The contract (``streams/contract``) judges a message alone; these checks need the case and the
policy, so they live in the engine and raise :class:`Rejected` like the contract does. Both
drivers turn that into a dead letter with the original bytes. In the order they are made:

* ``unknown_jurisdiction``: a booking whose jurisdiction differs from a policy table entry only
  by case or whitespace (a typo that would silently lose the local time zone and policy; the
  detail names the entry), or that is not in the table and carries no ``timezone`` of its own.
  A booking with its own ``timezone`` and an unlisted jurisdiction is accepted (logs from jails
  outside the table keep working) and counted as unlisted.
* ``inconsistent_time``: a release (any phase) dated before the booking, a detainer served or
  lifted before the booking or before that detainer's issue, when that anchor is already known.
  When the anchor arrives later, ``case.apply`` drops the stored fact instead (counted), so the
  alerts are the same in both orders.
* ``case_limit``: an event beyond the policy's per-case bounds (``max_events_per_case``,
  ``max_hits_per_case``, ``max_detainers_per_case`` new detainer ids). Bounded cases keep every
  step of the engine linear in the input and every changelog record far below a broker's message
  size, whatever one booking's producer sends.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from streams.contract.decode import Rejected
from streams.contract.events import Event
from streams.contract.timestamps import isoformat
from streams.engine.case import Case
from streams.policy.model import Policy


def fold(name: str) -> str:
    """A jurisdiction name without case or whitespace: how a near match is found."""
    return "".join(name.split()).casefold()


class Admission:
    """The checks for one policy (its jurisdiction table folded once)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._folded = {fold(name): name for name in policy.jurisdictions}
        self._max_events = policy.max_events_per_case
        self._jurisdictions = policy.jurisdictions

    def check(self, case: Case, event: Event) -> bool:
        """Raise :class:`Rejected` for an event the case must not take; True for a booking
        accepted with an unlisted jurisdiction (its own time zone), else False."""
        kind = event.type
        unlisted = False
        if kind == "booking":
            unlisted = self._jurisdiction(event)
        elif kind == "release":
            booked = case.booked_at
            if booked is not None and event.at < booked:
                self._not_before_booking(case, event, "release")
        elif kind == "detainer" and event.body.action != "issued":  # type: ignore[union-attr]
            self._not_before_anchors(case, event)
        # Every event is checked: the common case (far below every bound) without a call.
        if len(case.seen) >= self._max_events or kind == "hit" or kind == "detainer":
            self._limits(case, event)
        return unlisted

    # -- unknown_jurisdiction ----------------------------------------------------------------

    def _jurisdiction(self, event: Event) -> bool:
        body: Any = event.body  # a booking's
        name: str = body.jurisdiction
        if name in self._jurisdictions:
            return False
        near = self._folded.get(fold(name))
        if near is not None:
            raise Rejected(
                "unknown_jurisdiction",
                f"jurisdiction {name[:64]!r} is not in the policy table; it differs from "
                f"{near!r} only by case or whitespace",
            )
        if body.timezone is UNSET:
            raise Rejected(
                "unknown_jurisdiction",
                f"jurisdiction {name[:64]!r} is not in the policy table and the booking has no "
                "timezone of its own",
            )
        return True

    # -- inconsistent_time -------------------------------------------------------------------

    @staticmethod
    def _not_before_booking(case: Case, event: Event, what: str) -> None:
        booked = case.booked_at
        if booked is not None and event.at < booked:
            raise Rejected(
                "inconsistent_time",
                f"{what} at {isoformat(event.at)} is before the booking at {isoformat(booked)}",
            )

    def _not_before_anchors(self, case: Case, event: Event) -> None:
        body: Any = event.body  # a detainer's
        action = body.action
        self._not_before_booking(case, event, f"detainer {action}")
        detainer_id = body.detainer_id
        for record in case.detainers:
            if record.detainer_id == detainer_id:
                issued = record.issued_at
                if issued is not None and event.at < issued:
                    raise Rejected(
                        "inconsistent_time",
                        f"detainer {action} at {isoformat(event.at)} is before its issue at "
                        f"{isoformat(issued)}",
                    )
                return

    # -- case_limit --------------------------------------------------------------------------

    def _limits(self, case: Case, event: Event) -> None:
        policy = self.policy
        if len(case.seen) >= policy.max_events_per_case:
            raise Rejected(
                "case_limit",
                f"the booking already holds {len(case.seen)} events "
                f"(policy max_events_per_case = {policy.max_events_per_case})",
            )
        kind = event.type
        if kind == "hit" and len(case.hits) >= policy.max_hits_per_case:
            raise Rejected(
                "case_limit",
                f"the booking already holds {len(case.hits)} hits "
                f"(policy max_hits_per_case = {policy.max_hits_per_case})",
            )
        if kind == "detainer" and len(case.detainers) >= policy.max_detainers_per_case:
            detainer_id = event.body.detainer_id  # type: ignore[union-attr]
            if all(d.detainer_id != detainer_id for d in case.detainers):
                raise Rejected(
                    "case_limit",
                    f"the booking already holds {len(case.detainers)} detainers "
                    f"(policy max_detainers_per_case = {policy.max_detainers_per_case})",
                )
