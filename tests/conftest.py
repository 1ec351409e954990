from __future__ import annotations

import pytest

from streams.policy.load import load_policy
from streams.policy.model import Policy
from tests.support import Events


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The shipped default policy."""
    return load_policy()


@pytest.fixture
def ny() -> Events:
    """Events of one booking in New York City (America/New_York)."""
    return Events("bk-ny", "America/New_York")
