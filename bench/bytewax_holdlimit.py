"""The hold-limit rule as a Bytewax dataflow, in-process over the same log as the replay row.

The rule is the Quix Streams row's own function (``bench.quix_holdlimit.hold_limit``: the facts
folded first-wins per booking, an alert once the evidence is final), so the two frameworks run the
same Python and differ only in their per-event path: here ``FileSource`` -> ``orjson`` ->
``key_on`` booking -> ``stateful_flat_map`` (Bytewax's keyed state, a Python object per key),
one worker, ``run_main`` (no broker, no recovery store).

Event time: a booking's facts carry their own times, and the rule compares them with each other
(deadline vs custody end), so no clock is needed to decide what the evidence shows. What Bytewax
cannot express is *firing at the deadline when no further event comes*: its ``EventClock`` drives
windows (the watermark closes a window and emits its aggregate), and a stateful operator's
``notify_at`` is in system time, not event time. A per-booking deadline timer in event time would
need a window per booking ending at its deadline, which no windower provides (tumbling, sliding
and session windows have fixed or activity-based ends). So, as with Quix, a booking still held at
the end of the log with no further event never alerts here; the harness counts those.

Run: ``python -m bench.bytewax_holdlimit LOG OUT.json``.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

import orjson
from bytewax import operators as op
from bytewax.connectors.files import FileSource
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, run_main

from bench.quix_holdlimit import hold_limit

TIMES = {"first": 0.0, "last": 0.0, "count": 0}


class FoldState:
    """The per-booking state Bytewax keeps, with the ``get``/``set`` the rule function uses."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def parse(line: str) -> dict[str, Any] | None:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and "booking_id" in event else None


def step(state: FoldState | None, event: dict[str, Any]) -> tuple[FoldState, list[Any]]:
    now = time.perf_counter()
    if not TIMES["count"]:
        TIMES["first"] = now
    TIMES["count"] += 1
    state = state or FoldState()
    alerts = hold_limit(event, state)  # type: ignore[arg-type]
    TIMES["last"] = time.perf_counter()
    return state, alerts


def build(path: str, out: list[Any]) -> Dataflow:
    flow = Dataflow("holdwatch_hold_limit")
    lines = op.input("log", flow, FileSource(path))
    events = op.filter_map("parse", lines, parse)
    keyed = op.key_on("booking", events, lambda event: event["booking_id"])
    alerts = op.stateful_flat_map("hold_limit", keyed, step)
    op.output("alerts", op.key_rm("unkey", alerts), TestingSink(out))
    return flow


def main(argv: list[str]) -> int:
    path, result_path = argv[0], argv[1]
    alerts: list[Any] = []
    started = time.perf_counter()
    run_main(build(path, alerts))
    wall = time.perf_counter() - started
    result = {
        "count": TIMES["count"],
        "seconds": wall,
        "rule_seconds": TIMES["last"] - TIMES["first"],
        "alerts": alerts,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    with open(result_path, "wb") as file:
        file.write(orjson.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
