"""Soak: a steady event rate through one worker for a long time; memory, lag and latency over time.

    .venv/bin/python -m bench.soak --rate 2000 --duration 600 --out bench/results/soak

Starts an embedded Tansu broker (or uses ``--broker``) and one ``holdwatch worker --clock event
--store memory`` child with a metrics endpoint, then produces a generated log through the
replay producer (``KafkaReplay``: watermark headers, ticks, end barrier) paced to ``--rate``
events/s. Every ``--sample`` seconds it records:

* worker RSS (``/proc/<pid>/status`` VmRSS) and the broker's RSS (Tansu memory storage keeps
  every message, so its RSS grows by design; the worker's should level off),
* lag: events produced minus events the worker has settled (its ``holdwatch_events`` counter),
* latency of that interval, from the histogram's bucket deltas (so at bucket resolution; a value
  past the largest bucket shows as ``inf``): the hot path, p50/p99 of
  ``holdwatch_stage_latency_seconds{stage="processed"}`` (decode, validate and engine for one
  message), and ``stage="decided"`` (message received -> decision made), which in a replay also
  holds the time an event waits for the other topics to pass its watermark (the merge).

Writes ``samples.jsonl`` and ``summary.json`` to ``--out`` and prints a table. Not a test.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from streams.observability.metrics import LATENCY_BUCKETS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rate", type=float, default=2000.0, help="events per second (default 2000)"
    )
    parser.add_argument(
        "--duration", type=float, default=600.0, help="seconds of producing (default 600)"
    )
    parser.add_argument(
        "--sample", type=float, default=5.0, help="seconds between samples (default 5)"
    )
    parser.add_argument(
        "--broker", help="kafka://host:port of a running broker (default: start an embedded one)"
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument(
        "--drain",
        type=float,
        default=120.0,
        help="after producing, wait at most this long for the worker to catch up (default 120 s)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", default="bench/results/soak", help="directory for samples.jsonl and summary.json"
    )
    return parser.parse_args(argv)


def rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def paced(
    lines: Iterator[bytes], rate: float, duration: float, counter: list[int]
) -> Iterator[bytes]:
    """The log's lines, no faster than ``rate`` a second, for ``duration`` seconds."""
    start = time.monotonic()
    for n, line in enumerate(lines):
        due = start + n / rate
        now = time.monotonic()
        if now - start >= duration:
            return
        if due > now:
            time.sleep(due - now)
        counter[0] = n + 1
        yield line


def scrape(port: int) -> dict[str, Any]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    settled = 0.0
    buckets: dict[str, dict[float, float]] = {stage: {} for stage in STAGES}
    for family in text_string_to_metric_families(text):
        if family.name == "holdwatch_events":
            settled += sum(s.value for s in family.samples if s.name.endswith("_total"))
        if family.name == "holdwatch_stage_latency_seconds":
            for s in family.samples:
                stage = s.labels.get("stage", "")
                if s.name.endswith("_bucket") and stage in buckets:
                    buckets[stage][float(s.labels["le"])] = s.value
    return {"settled": settled, "buckets": buckets}


STAGES = ("processed", "decided")


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """Upper bound of the bucket holding the q-quantile of the observations between two scrapes."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]  # cumulative
    if not counts or counts[-1] <= 0:
        return None
    target = q * counts[-1]
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= target:
            return bound
    return bounds[-1]


def latency_summary(samples: list[dict[str, Any]]) -> dict[str, float | str | None]:
    """Median and worst interval of each stage's p50/p99, in ms (``"> N ms"`` past the top bucket)."""
    out: dict[str, float | str | None] = {}
    for stage in STAGES:
        for name in ("p50", "p99"):
            values = sorted(s[f"{stage}_{name}_s"] for s in samples if s[f"{stage}_{name}_s"])
            for label, value in (
                ("median_interval", values[len(values) // 2] if values else None),
                ("worst_interval", values[-1] if values else None),
            ):
                key = f"{stage}_{name}_ms_{label}"
                if value is None:
                    out[key] = None
                elif math.isinf(value):
                    out[key] = f"> {LATENCY_BUCKETS[-1] * 1000:.0f}"
                else:
                    out[key] = round(value * 1000, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    from streams.generate import generate
    from streams.kafka.broker import EmbeddedBroker, free_port
    from streams.kafka.settings import parse_brokers
    from streams.policy.load import load_policy
    from streams.streaming.kafka_replay import KafkaReplay
    from streams.streaming.run import WorkerProcess, event_worker_args, fresh_topics

    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    policy = load_policy()
    broker = None
    if args.broker:
        brokers = parse_brokers(args.broker)
    else:
        broker = EmbeddedBroker(log_path=out / "broker.log").start()
        brokers = (broker.bootstrap,)
    settings = fresh_topics(brokers, policy, args.partitions, tag="soak")
    port = free_port()
    worker = WorkerProcess(settings, event_worker_args(port), out / "worker.log").start()

    events_needed = int(args.rate * args.duration) + 1
    bookings = events_needed // 3 + 100  # the generator makes about 3.2 events per booking
    produced = [0]
    lines = paced(
        generate(bookings, args.seed, date(2011, 10, 1), 2000.0), args.rate, args.duration, produced
    )
    alerts = [0]
    result: dict[str, Any] = {}

    def produce() -> None:
        try:
            result["summary"] = KafkaReplay(settings, policy).run(
                lines,
                None,
                lambda a: alerts.__setitem__(0, alerts[0] + 1),
                lambda d: None,
                idle_timeout=600,
            )
        except BaseException as exc:
            result["error"] = repr(exc)

    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    thread = threading.Thread(target=produce, name="soak-producer", daemon=True)
    thread.start()
    previous: dict[str, Any] = {"settled": 0.0, "buckets": {stage: {} for stage in STAGES}}
    sink = (out / "samples.jsonl").open("wb")
    print(
        f"{'t/s':>6} {'produced':>9} {'settled':>9} {'lag':>7} {'worker RSS':>11} "
        f"{'broker RSS':>11} {'hot p50 ms':>10} {'hot p99 ms':>10} {'dec. p50':>9} {'dec. p99':>9}"
    )
    try:
        while thread.is_alive():
            if time.monotonic() - started > args.duration + args.drain:
                result.setdefault(
                    "error",
                    f"the worker had not caught up {args.drain:.0f}s after the producer stopped",
                )
                break
            thread.join(args.sample)
            try:
                now = scrape(port)
            except OSError:
                continue  # the worker is still starting
            sample: dict[str, Any] = {
                "t": round(time.monotonic() - started, 1),
                "produced": produced[0],
                "settled": int(now["settled"]),
                "lag": produced[0] - int(now["settled"]),
                "worker_rss": rss(worker.proc.pid if worker.proc else None),
                "broker_rss": rss(broker.pid if broker else None),
                **{
                    f"{stage}_{name}_s": quantile(
                        previous["buckets"][stage], now["buckets"][stage], q
                    )
                    for stage in STAGES
                    for name, q in (("p50", 0.50), ("p99", 0.99))
                },
                "alerts": alerts[0],
            }
            previous = now
            samples.append(sample)
            sink.write(orjson.dumps(sample) + b"\n")
            sink.flush()

            def ms(v: float | None) -> str:
                return "-" if v is None else f"{v * 1000:.1f}"

            def mib(v: int | None) -> str:
                return "-" if v is None else f"{v / 2**20:.0f} MiB"

            print(
                f"{sample['t']:>6} {sample['produced']:>9} {sample['settled']:>9} "
                f"{sample['lag']:>7} {mib(sample['worker_rss']):>11} "
                f"{mib(sample['broker_rss']):>11} {ms(sample['processed_p50_s']):>10} "
                f"{ms(sample['processed_p99_s']):>10} {ms(sample['decided_p50_s']):>9} "
                f"{ms(sample['decided_p99_s']):>9}",
                flush=True,
            )
    finally:
        sink.close()
        worker.stop()
        if broker is not None:
            broker.stop()
    total = time.monotonic() - started
    steady = [s for s in samples if s["t"] > min(60.0, args.duration / 3)]
    summary = {
        "rate": args.rate,
        "duration": args.duration,
        "produced": produced[0],
        "wall_seconds": round(total, 1),
        "error": result.get("error"),
        "alerts": alerts[0],
        "worker_rss_first_mib": samples[0]["worker_rss"] / 2**20
        if samples and samples[0]["worker_rss"]
        else None,
        "worker_rss_last_mib": samples[-1]["worker_rss"] / 2**20
        if samples and samples[-1]["worker_rss"]
        else None,
        "max_lag": max((s["lag"] for s in samples), default=None),
        "max_lag_steady": max((s["lag"] for s in steady), default=None),
        "worker_rss_max_mib": max((s["worker_rss"] for s in samples if s["worker_rss"]), default=0)
        / 2**20,
        **latency_summary(steady),
    }
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 1 if result.get("error") else 0


if __name__ == "__main__":
    raise SystemExit(main())
