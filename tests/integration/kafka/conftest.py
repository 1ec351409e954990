"""Fixtures for tests that need the embedded Tansu broker (marker: ``kafka``)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The project is not installed into the venv; make ``streams`` importable when
# pytest is launched as ``.venv/bin/pytest`` (no cwd on sys.path).
_REPO_ROOT = str(Path(__file__).resolve().parents[3])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from streams.kafka.broker import EmbeddedBroker  # noqa: E402


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh broker per test: starts in ~0.1 s and memory grows per message."""
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture
def topic_prefix() -> str:
    """Unique prefix so tests never see each other's topics."""
    return f"t{uuid.uuid4().hex[:8]}."
