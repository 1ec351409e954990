"""Shared helpers of the importer tests: the fixture directory and a contract validator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "pierce_county"
# jsonschema checks "format": "date-time" only with an optional package; check it here instead.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def contract_validators() -> dict[str, Draft202012Validator]:
    """One validator per event type, resolving ``urn:holdwatch:schema:*`` from ``schemas/``."""
    documents = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((REPO / "schemas").glob("*.schema.json"))
    ]
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents
    )
    by_id = {doc["$id"]: doc for doc in documents}
    return {
        kind: Draft202012Validator(
            by_id[f"urn:holdwatch:schema:{kind}"], registry=registry, format_checker=FormatChecker()
        )
        for kind in ("booking", "hit", "detainer", "release")
    }


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
