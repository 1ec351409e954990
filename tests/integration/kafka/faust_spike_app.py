"""Spike Faust app run as a *subprocess* by test_kafka_faust_spike.py.

Why a subprocess: mode/faust Workers install signal handlers and own an event
loop, which only works in a main thread; a subprocess also gives the test a
real "kill and restart" for changelog-recovery checks and cannot leak tasks
into the pytest process.

Configured from env (SPIKE_*).  Consumes JSON ``{"n": int}`` keyed by a
string key from ``<prefix>bookings``, counts per key in a changelogged Table
(memory store), and writes ``{"key", "count", "n", "pid"}`` to
``<prefix>alerts``.  A ``{"peek": true}`` message emits the current count
without incrementing, so a test can read table state after a restart.

Run: ``python -c 'import faust_spike_app as m; m.main()'`` with this directory
on PYTHONPATH (keeps the module name stable instead of ``__main__``).
"""

from __future__ import annotations

import os
from typing import Any

import faust

BROKER = os.environ["SPIKE_BROKER"]
PREFIX = os.environ.get("SPIKE_PREFIX", "holdwatch.")
PARTITIONS = int(os.environ.get("SPIKE_PARTITIONS", "8"))

app = faust.App(
    os.environ.get("SPIKE_APP_ID", "holdwatch-spike"),
    broker=BROKER,
    store="memory://",
    datadir=os.environ.get("SPIKE_DATADIR", "/tmp/holdwatch-spike"),
    processing_guarantee="at_least_once",
    broker_session_timeout=2.0,
    broker_heartbeat_interval=0.5,
    topic_partitions=PARTITIONS,
    topic_allow_declare=True,
    web_enabled=False,
    # Commit often so a restart does not re-process much (at-least-once).
    broker_commit_every=50,
    broker_commit_interval=0.5,
    # SPIKE_ONE_RECORD_BATCHES=1 works around Tansu's ListOffsets(latest) bug
    # (see docs/kafka-notes.md): one record per produce batch keeps the
    # changelog end offsets right, so recovery does not drop the tail.
    **({"producer_max_batch_size": 1} if os.environ.get("SPIKE_ONE_RECORD_BATCHES") == "1" else {}),
)

source = app.topic(
    f"{PREFIX}bookings", key_type=str, value_serializer="json", partitions=PARTITIONS
)
sink = app.topic(f"{PREFIX}alerts", key_type=str, value_serializer="json", partitions=PARTITIONS)
counts = app.Table("counts", default=int, partitions=PARTITIONS)


@app.agent(source)
async def count(stream: Any) -> None:
    pid = os.getpid()
    async for key, value in stream.items():
        if not value.get("peek"):
            counts[key] += 1
        await sink.send(
            key=key, value={"key": key, "count": counts[key], "n": value.get("n"), "pid": pid}
        )


def main() -> None:
    faust.Worker(app, loglevel=os.environ.get("SPIKE_LOGLEVEL", "info")).execute_from_commandline()


if __name__ == "__main__":
    main()
