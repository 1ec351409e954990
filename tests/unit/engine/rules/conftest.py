"""A registry fixture: a rule declared for one test only, as a new rule module would declare it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.engine.queries import issued
from streams.engine.rules import Context, Finding, Rule, declared


def several_detainers(ctx: Context) -> Iterator[Finding]:
    """A booking held on two or more detainers: from the second issue until custody ends."""
    case = ctx.case
    times = sorted(d.issued_at for d in issued(case) if d.issued_at is not None)
    if len(times) >= 2:
        yield Finding("several_detainers", times[1], case.custody_end_at, {"detainers": len(times)})


SEVERAL_DETAINERS = Rule(
    "several_detainers",
    "warning",
    "Illustration: a booking held on more than one detainer.",
    settings=(),
    scope="booking",
    evaluate=several_detainers,
)


@pytest.fixture
def throwaway_rule() -> Iterator[Rule]:
    """``several_detainers`` (per booking) in the registry for the test, removed afterwards."""
    with declared(SEVERAL_DETAINERS) as rule:
        yield rule
