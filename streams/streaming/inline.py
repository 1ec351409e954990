"""Run a coroutine inline until it first blocks, and hand over the rest only if it does.

Faust's fetch loop passes every fetched message to its conductor through ``wait_first``, which
makes four tasks and an ``asyncio.wait`` per message so that a rebalance (the consumer's
``suspend_flow``) can interrupt a hand-over blocked on a full stream buffer. Nearly every
hand-over never blocks: it puts the message in a buffer with room and returns. Measured on one
worker (py-spy, 20k-event log), that machinery was 16% of the worker's main thread, more than
decoding and validating the events. :func:`step` runs the coroutine's first step in the caller;
only a coroutine that actually waits gets the tasks, resumed exactly where it stopped.

The first step runs in the *caller's* task and context: inside it, ``asyncio.current_task()``
is the caller, a ``ContextVar`` set leaks into the caller, and ``asyncio.timeout()`` would cancel
the caller. Step only coroutines that do none of these (Faust's hand-over, checked for
faust-streaming 0.15: its flow-control wait, producer-buffer wait, callback lock and channel
puts).

Pure asyncio; no Faust import (``transport.HoldwatchConsumer.wait_first`` uses it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Done(Generic[T]):
    """A coroutine that finished in its first step, with its result."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def step(coro: Coroutine[Any, Any, T]) -> Done[T] | Rest[T]:
    """``Done`` with the result when ``coro`` finishes without waiting; otherwise the awaitable
    :class:`Rest` that continues it from the point where it waits (schedule or await it once).

    An exception raised in the first step propagates from here, as it would from the await."""
    try:
        waiting_on = coro.send(None)
    except StopIteration as stop:
        return Done(stop.value)
    return Rest(coro, waiting_on)


class Rest(Awaitable[T]):
    """The remainder of a started coroutine (an ``Awaitable``, as ``asyncio.ensure_future`` and
    mode's ``wait_first`` take it).

    Awaiting it yields what the coroutine yields (first the future it waits on, already flagged
    as blocking), passes back what the event loop sends or throws (a cancellation reaches the
    coroutine at its await) and returns its result. Never awaited, :meth:`close` closes the
    coroutine."""

    __slots__ = ("_coro", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, T]:
        return _resume(self._coro, self._waiting_on)


def _resume(coro: Coroutine[Any, Any, T], waiting_on: Any) -> Generator[Any, Any, T]:
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        else:
            try:
                waiting_on = coro.send(sent)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
