from __future__ import annotations

from dataclasses import replace

import pytest

from streams.policy.load import load_policy
from streams.policy.model import Policy
from tests.support import Events


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def policy(default_policy: Policy, request: pytest.FixtureRequest) -> Policy:
    """The shipped default policy. A test module about one booking's bookkeeping sets
    ``CLOCK_QUORUM = 1`` so that one booking moves the event clock (the clock before issue 12);
    the robust clock has its own tests (tests/unit/engine/test_event_clock.py)."""
    quorum = getattr(request.module, "CLOCK_QUORUM", None)
    return default_policy if quorum is None else replace(default_policy, clock_quorum=quorum)


@pytest.fixture
def ny() -> Events:
    """Events of one booking in New York City (America/New_York)."""
    return Events("bk-ny", "America/New_York")
