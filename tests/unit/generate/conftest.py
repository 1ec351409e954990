"""Fixtures of the generator's specification: schema validators and measured sample logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from streams.generate import generate

from .measure import Figures, Log, measure

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
MESSAGE_KINDS = ("booking", "hit", "detainer", "release")


@pytest.fixture(scope="session")
def validators() -> dict[str, Draft202012Validator]:
    """One validator per event type, resolving the absolute ``urn:holdwatch:schema:*`` refs."""
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry: Registry[Any] = Registry().with_resources(resources)
    out = {}
    for kind in MESSAGE_KINDS:
        schema = registry.contents(f"urn:holdwatch:schema:{kind}")
        Draft202012Validator.check_schema(schema)
        out[kind] = Draft202012Validator(schema, registry=registry)
    return out


@pytest.fixture(scope="session")
def make_log() -> Callable[..., Log]:
    def make(bookings: int, seed: int, **kwargs: Any) -> Log:
        return Log(list(generate(bookings, seed, **kwargs)))

    return make


@pytest.fixture(scope="session")
def small_log(make_log: Callable[..., Log]) -> Log:
    """2,000 bookings, about ten days of the default 200 a day."""
    return make_log(2_000, seed=11)


@pytest.fixture(scope="session")
def large_log(make_log: Callable[..., Log]) -> Log:
    """20,000 bookings: enough for the published shares to show within a few points."""
    return make_log(20_000, seed=2011)


@pytest.fixture(scope="session")
def figures(large_log: Log) -> Figures:
    return measure(large_log)
