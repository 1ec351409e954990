"""In-process benchmark rows, each run in its own child process (``python -m bench.inproc ROW LOG``).

A child prints one JSON object on stdout: the row's measurements plus its own peak RSS
(``ru_maxrss``), so every row's memory figure is its own and not the harness's.

Rows:

* ``parse``    the ceiling: ``orjson.loads`` of every line of the file, nothing else;
* ``replay``   ``InProcessReplay`` exactly as ``holdwatch replay`` drives it (4096-line chunks);
* ``cpu``      ``parse`` and ``replay`` in one process by CPU time, and their ratio;
* ``latency``  per-event time of decode + engine.process (message in -> decision made);
* ``memory``   engine state after 80% of the log (steady state: a generated log ends by closing every
               booking): open cases, deep size of the case store and the timer heap, bytes per open case;
* ``tracemalloc`` the same, measured with tracemalloc (slow: use a short log);
* ``travis``   real data, end to end: the Travis County extract (the ``LOG`` argument is the
               export, dates only) imported under both bounds, each log replayed and reported
               under both forms (``holdwatch report-bounds``): the whole pipeline's wall time.
"""

from __future__ import annotations

import gc
import itertools
import resource
import sys
import time
from typing import Any

import orjson

CHUNK = 4096


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _lines(path: str) -> Any:
    from streams.replay.source import LogSource

    return LogSource(path)


def row_parse(path: str) -> dict[str, Any]:
    loads = orjson.loads
    n = 0
    started = time.perf_counter()
    with _lines(path) as source:
        lines = source.lines()
        while chunk := list(itertools.islice(lines, CHUNK)):
            for line in chunk:
                loads(line)
            n += len(chunk)
    seconds = time.perf_counter() - started
    return {"events": n, "seconds": seconds}


def _replay(path: str, limit: int | None = None) -> tuple[Any, float, int]:
    from streams.policy.load import load_policy
    from streams.replay.runner import InProcessReplay

    alerts: list[dict[str, Any]] = []
    replay = InProcessReplay(load_policy(), alerts.append)
    started = time.perf_counter()
    with _lines(path) as source:
        lines = source.lines() if limit is None else itertools.islice(source.lines(), limit)
        while chunk := list(itertools.islice(lines, CHUNK)):
            replay.feed(chunk)
    seconds = time.perf_counter() - started
    return replay, seconds, len(alerts)


def row_replay(path: str) -> dict[str, Any]:
    from streams.policy.load import load_policy
    from streams.replay.runner import InProcessReplay

    alerts: list[dict[str, Any]] = []
    replay = InProcessReplay(load_policy(), alerts.append)
    started = time.perf_counter()
    with _lines(path) as source:
        lines = source.lines()
        while chunk := list(itertools.islice(lines, CHUNK)):
            replay.feed(chunk)
    summary = replay.finish()
    seconds = time.perf_counter() - started
    return {
        "events": summary.events_read,
        "seconds": seconds,
        "alerts": len(alerts),
        "open_cases_at_end": summary.open_cases,
        "alerts_by_rule": {f"{r}/{s}": n for (r, s), n in sorted(summary.alerts.items())},
    }


def row_cpu(path: str) -> dict[str, Any]:
    """``parse`` (best of 3) and ``replay`` in one process, timed by CPU time (``process_time``):
    their ratio moves less than the wall-clock rows' when other jobs share the cores."""
    from streams.policy.load import load_policy
    from streams.replay.runner import InProcessReplay

    loads = orjson.loads
    parse_seconds = []
    for _ in range(3):
        started = time.process_time()
        with _lines(path) as source:
            lines = source.lines()
            while chunk := list(itertools.islice(lines, CHUNK)):
                for line in chunk:
                    loads(line)
        parse_seconds.append(time.process_time() - started)
    alerts: list[dict[str, Any]] = []
    replay = InProcessReplay(load_policy(), alerts.append)
    started = time.process_time()
    with _lines(path) as source:
        lines = source.lines()
        while chunk := list(itertools.islice(lines, CHUNK)):
            replay.feed(chunk)
    summary = replay.finish()
    replay_seconds = time.process_time() - started
    return {
        "events": summary.events_read,
        "alerts": len(alerts),
        "parse_cpu_seconds": min(parse_seconds),
        "replay_cpu_seconds": replay_seconds,
        "ratio": min(parse_seconds) / replay_seconds,
    }


def row_latency(path: str, limit: int = 200_000) -> dict[str, Any]:
    """Per event: decode (bytes -> validated Event) + engine.process, timed one by one."""
    from streams.contract.decode import Decoder, Rejected
    from streams.engine.processor import Engine
    from streams.policy.load import load_policy

    engine = Engine(load_policy(), lambda alert: None)
    decode = Decoder().decode
    process = engine.process
    clock = time.perf_counter_ns
    samples: list[int] = []
    with _lines(path) as source:
        for raw in itertools.islice(source.lines(), limit):
            line = raw.rstrip(b"\r\n")
            if not line:
                continue
            t0 = clock()
            try:  # noqa: SIM105 - try/except is cheaper than contextlib.suppress in the timed loop
                process(decode(line))
            except Rejected:
                pass
            samples.append(clock() - t0)
    samples.sort()
    n = len(samples)
    return {
        "events": n,
        "p50_us": samples[n // 2] / 1000 if n else None,
        "p99_us": samples[min(n - 1, (n * 99) // 100)] / 1000 if n else None,
        "max_us": samples[-1] / 1000 if n else None,
    }


def deep_size(*roots: Any) -> int:
    """Bytes of every object reachable from ``roots`` (each counted once); modules and types excluded."""
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    skip = (type, type(sys), type(deep_size))
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


MEASURE_AT = 0.8  # a generated log ends by closing every booking: measure in its steady state


def _steady_lines(path: str) -> int:
    with open(path, "rb") as file:
        total = sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 20), b""))
    return max(1, int(total * MEASURE_AT))


def row_memory(path: str) -> dict[str, Any]:
    gc.collect()
    rss_before = current_rss_bytes()
    replay, seconds, _ = _replay(path, _steady_lines(path))
    engine = replay.engine
    gc.collect()
    open_cases = len(engine.cases)
    state = deep_size(engine.cases, engine._timers, engine._evictions, engine._eviction_buckets)
    return {
        "events": replay.summary.events_read,
        "seconds": seconds,
        "open_cases": open_cases,
        "timer_entries": len(engine._timers) + sum(map(len, engine._evictions.values())),
        "state_bytes": state,
        "bytes_per_open_case": state / open_cases if open_cases else None,
        "rss_delta_bytes": current_rss_bytes() - rss_before,
    }


def row_tracemalloc(path: str) -> dict[str, Any]:
    import tracemalloc

    from streams.contract.decode import Decoder
    from streams.policy.load import load_policy
    from streams.replay.runner import InProcessReplay

    policy = load_policy()
    decoder = Decoder()  # compiled validators and caches outside the measured window
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    replay = InProcessReplay(policy, lambda alert: None, decoder=decoder)
    with _lines(path) as source:
        lines = itertools.islice(source.lines(), _steady_lines(path))
        while chunk := list(itertools.islice(lines, CHUNK)):
            replay.feed(chunk)
    del chunk, lines
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    open_cases = len(replay.engine.cases)
    held = current - base
    return {
        "events": replay.summary.events_read,
        "open_cases": open_cases,
        "traced_bytes": held,
        "traced_peak_bytes": peak - base,
        "bytes_per_open_case": held / open_cases if open_cases else None,
    }


def row_travis(path: str) -> dict[str, Any]:
    """Import (lower and upper) + 4 replays with their reports + the classification, timed."""
    from pathlib import Path

    from streams.importers.convert import convert
    from streams.importers.reader import read_records
    from streams.importers.travis_county import TRAVIS_COUNTY
    from streams.policy.load import FORMS, load_policy
    from streams.report.bounds import build_bounds

    policy = load_policy()
    started = time.perf_counter()
    logs: dict[str, list[bytes]] = {}
    rows = 0
    for bound in ("lower", "upper"):
        records = read_records(Path(path), TRAVIS_COUNTY.delimiter, TRAVIS_COUNTY.required_columns)
        conversion = convert(records, TRAVIS_COUNTY, bound=bound)  # type: ignore[arg-type]
        logs[bound] = [orjson.dumps(event) for event in conversion.events]
        rows = conversion.summary.rows
    imported = time.perf_counter() - started
    report = build_bounds(logs["lower"], logs["upper"], policy, FORMS)
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "events": len(logs["lower"]) + len(logs["upper"]),
        "bookings": report.bookings,
        "import_seconds": imported,
        "seconds": seconds,
        "classes": {
            form: fb.totals() | {"definite_cases": len(fb.definite)}
            for form, fb in report.forms.items()
        },
    }


ROWS = {
    "parse": row_parse,
    "replay": row_replay,
    "latency": row_latency,
    "cpu": row_cpu,
    "memory": row_memory,
    "tracemalloc": row_tracemalloc,
    "travis": row_travis,
}


def main(argv: list[str]) -> int:
    name, path = argv[0], argv[1]
    result = ROWS[name](path)
    result["peak_rss_bytes"] = peak_rss_bytes()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
