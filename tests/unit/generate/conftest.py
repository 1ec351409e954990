"""Fixtures of the generator's specification: schema validators and measured sample logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from streams.contract.vocabulary import EVENT_TYPES
from streams.generate import generate
from tests.support import reference_validator

from .measure import Figures, Log, measure


@pytest.fixture(scope="session")
def validators() -> dict[str, Draft202012Validator]:
    """One validator per event type (the jsonschema library's, independent of the decoder's)."""
    return {kind: reference_validator(kind) for kind in EVENT_TYPES}


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
