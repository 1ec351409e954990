"""The bare-Faust ceiling: one agent over the same four input topics that only counts messages.

Same settings as the Holdwatch worker (at-least-once, memory store, the same session timeout as
the worker on that broker, web off, no start-up spinner), so the only difference is the agent body.
Started as a child process (``python -c "import bench.faust_bare as m; m.main()"``), configured by
environment: BENCH_BROKER (kafka://host:port), BENCH_TOPICS (comma separated), BENCH_PARTITIONS,
BENCH_EXPECT (messages to count), BENCH_OUT (JSON result file written once all are counted).
"""

from __future__ import annotations

import os
import resource
import time

import faust
import orjson

BROKER = os.environ.get("BENCH_BROKER", "kafka://127.0.0.1:9092")
TOPICS = [t for t in os.environ.get("BENCH_TOPICS", "").split(",") if t]
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "8"))
EXPECT = int(os.environ.get("BENCH_EXPECT", "0"))
OUT = os.environ.get("BENCH_OUT", "/tmp/bench-faust-bare.json")

app = faust.App(
    os.environ.get("BENCH_APP_ID", "bench-bare"),
    broker=BROKER,
    store="memory://",
    topic_partitions=PARTITIONS,
    processing_guarantee="at_least_once",
    # The worker's timing on the same broker (Tansu: 2 s / 0.5 s; Apache Kafka: its defaults).
    broker_session_timeout=float(os.environ.get("BENCH_SESSION_TIMEOUT", "2.0")),
    broker_heartbeat_interval=float(os.environ.get("BENCH_HEARTBEAT_INTERVAL", "0.5")),
    web_enabled=False,
    producer_linger=0.0,
    stream_wait_empty=False,
    topic_allow_declare=False,
)
inputs = app.topic(
    *TOPICS, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)

state = {"count": 0, "first": 0.0, "last": 0.0, "written": False}


@app.agent(inputs, name="bench-bare-count")
async def count(stream: faust.StreamT) -> None:
    async for _value in stream:
        now = time.time()
        if state["count"] == 0:
            state["first"] = now
        state["count"] += 1
        state["last"] = now
        if state["count"] >= EXPECT and not state["written"]:
            state["written"] = True
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            result = {
                "count": state["count"],
                "first": state["first"],
                "last": state["last"],
                "peak_rss_bytes": rss,
            }
            with open(OUT + ".tmp", "wb") as out:
                out.write(orjson.dumps(result))
            os.replace(OUT + ".tmp", OUT)


def main() -> None:
    from streams.streaming.run import faust_runner  # the worker's own runner: no spinner

    faust_runner(app, "warning").execute_from_commandline()


if __name__ == "__main__":
    main()
