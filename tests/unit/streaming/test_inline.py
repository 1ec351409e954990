"""A coroutine runs inline until it first waits; only then does it need the event loop.

The worker's consumer hands every fetched message to Faust's conductor this way
(``transport.HoldwatchConsumer.wait_first``): these are the guarantees it relies on, that the
rest of a coroutine that did wait runs exactly as if it had been awaited from the start."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from streams.streaming import inline


async def returns(value: int) -> int:
    return value


async def raises() -> None:
    raise ValueError("first step")


def test_a_coroutine_that_never_waits_finishes_in_the_caller() -> None:
    stepped = inline.step(returns(7))
    assert isinstance(stepped, inline.Done)
    assert stepped.value == 7


def test_an_error_in_the_first_step_propagates_from_the_step() -> None:
    with pytest.raises(ValueError, match="first step"):
        inline.step(raises())


def test_a_coroutine_that_waits_goes_on_where_it_stopped() -> None:
    trail: list[str] = []

    async def waits(gate: asyncio.Event) -> str:
        trail.append("before")
        await gate.wait()
        trail.append("after")
        return "done"

    async def scenario() -> str:
        gate = asyncio.Event()
        rest = inline.step(waits(gate))
        assert isinstance(rest, inline.Rest)
        assert trail == ["before"]  # the first step ran here, once
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        assert not task.done()  # it really waits on the gate
        gate.set()
        return await task

    assert asyncio.run(scenario()) == "done"
    assert trail == ["before", "after"]


def test_cancelling_the_rest_reaches_the_coroutine_at_its_await() -> None:
    cleaned: list[str] = []

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append("finally")

    async def scenario() -> None:
        rest = inline.step(waits_forever())
        assert isinstance(rest, inline.Rest)
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert cleaned == ["finally"]


def test_an_error_after_waiting_propagates_from_the_await() -> None:
    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    async def scenario() -> None:
        rest = inline.step(fails_later())
        assert isinstance(rest, inline.Rest)
        await rest

    with pytest.raises(KeyError, match="later"):
        asyncio.run(scenario())


def test_a_rest_closed_unawaited_closes_its_coroutine_without_a_warning() -> None:
    cleaned: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.sleep(0)
        finally:
            cleaned.append("finally")

    rest = inline.step(waits())
    assert isinstance(rest, inline.Rest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rest.close()
        del rest
        gc.collect()
    assert cleaned == ["finally"]
