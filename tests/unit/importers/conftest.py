"""Shared helpers of the importer tests: the fixture directory and a contract validator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from streams.contract.vocabulary import EVENT_TYPES
from tests.support import reference_validator

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "pierce_county"
# jsonschema checks "format": "date-time" only with an optional package; check it here instead.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def contract_validators() -> dict[str, Draft202012Validator]:
    """One validator per event type (the jsonschema library's, independent of the decoder's)."""
    return {kind: reference_validator(kind) for kind in EVENT_TYPES}


@pytest.fixture(scope="session")
def validate_event() -> Callable[[dict[str, Any]], None]:
    validators = contract_validators()

    def validate(event: dict[str, Any]) -> None:
        validators[event["type"]].validate(event)
        assert RFC3339.fullmatch(event["occurred_at"]), event["occurred_at"]

    return validate


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
