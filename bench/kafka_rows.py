"""Kafka benchmark rows on one embedded Tansu broker: raw aiokafka, bare Faust, Holdwatch workers.

Method (the same for every row): the events are *pre-produced* into the Holdwatch input topics
with the ``holdwatch replay --kafka`` protocol (a start barrier, every event with its watermark
header, periodic ticks, an end barrier), using ``KafkaReplay``'s own producer code. Only then is
the consumer started, and the clock runs from the first message it handled to the last:

* raw aiokafka: first to last record of ``getmany`` over all 32 input topic-partitions;
* bare Faust: first to last message counted by a Faust agent on the same four topics;
* Holdwatch workers: from the first input message a worker handled (its log says when) to the
  last partition's end barrier in the alerts topic (the worker writes each after everything
  before it is processed).

Worker start-up (group join, recovery) is outside every measurement. The rate is events (the log
lines) per second; every row consumes the same messages (events plus ~3% tick messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.inproc import peak_rss_bytes

REPO = Path(__file__).resolve().parents[1]


def vm_hwm(pid: int) -> int | None:
    """Peak RSS of a running child process (VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a running process has used so far (``/proc/PID/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # after the command: state is field 3, utime and stime are fields 14 and 15 (man 5 proc)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: The rules agent's INFO line when a partition's first message arrives (``rules_agent.open``).
FIRST_MESSAGE = re.compile(
    rb"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \[\d+\] \[INFO\] partition \d+: \d+ cases recovered"
)


def first_message_at(log: Path) -> float | None:
    """Wall-clock time (``time.time()`` scale) of the first input message a worker handled: the
    first partition it opened, from its INFO log line (Faust writes local time, milliseconds)."""
    try:
        with log.open("rb") as lines:
            for line in lines:
                found = FIRST_MESSAGE.match(line)
                if found:
                    stamp = found.group(1).decode().replace(",", ".")
                    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
    except OSError:
        return None
    return None


class CpuWindow:
    """CPU seconds each process used between two moments, as cores busy over that window.

    The worker rows' figure depends on the machine as well as on the worker: a run whose worker,
    broker and reader together keep C of 2 cores busy could scale by 2/C with more workers if
    every event cost the same CPU (two workers spent less per event than one on 2026-12-07).
    Sampling the processes' CPU clocks at the measured window's ends shows C."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}
        self.wall: list[float] = []

    def _sample(self) -> dict[str, float]:
        out = {"reader": time.process_time()}
        for name, pid in self.pids.items():
            used = cpu_seconds(pid)
            if used is not None:
                out[name] = used
        return out

    def begin(self) -> None:
        self.start = self._sample()
        self.wall = [time.perf_counter()]

    def mark_end(self) -> None:
        self.end = self._sample()
        self.wall[1:] = [time.perf_counter()]

    def cores(self) -> dict[str, float]:
        """Cores busy per process over the window (CPU seconds / wall seconds), and in all."""
        if len(self.wall) < 2 or self.wall[1] <= self.wall[0]:
            return {}
        span = self.wall[1] - self.wall[0]
        out = {
            name: round((self.end[name] - self.start[name]) / span, 2)
            for name in self.start
            if name in self.end
        }
        out["total"] = round(sum(out.values()), 2)
        return out


class Produced:
    def __init__(
        self, settings: Any, run_id: str, events: int, messages: int, seconds: float
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.events = events
        self.messages = messages
        self.seconds = seconds


def settings_for(bootstrap: str, prefix: str, partitions: int = 8) -> Any:
    from streams.kafka.settings import KafkaSettings

    return KafkaSettings(brokers=(bootstrap,), topic_prefix=prefix, partitions=partitions)


def worker_config(settings: Any) -> Any:
    from streams.policy.load import load_policy
    from streams.streaming.app import WorkerConfig

    return WorkerConfig(kafka=settings, policy=load_policy(), clock="event", store="memory://")


def preproduce(bootstrap: str, prefix: str, lines: Iterable[bytes]) -> Produced:
    """Create the topics and write start barrier, events, ticks and end barrier; no worker runs yet."""
    from streams.engine.watermark import NEVER
    from streams.policy.load import load_policy
    from streams.streaming.kafka_replay import KafkaReplay
    from streams.streaming.run import create_topics

    settings = settings_for(bootstrap, prefix)
    create_topics(worker_config(settings))
    replay = KafkaReplay(settings, load_policy())
    send = replay.producer.send
    sent = [0]

    def counting_send(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return send(*args, **kwargs)

    replay.producer.send = counting_send  # type: ignore[method-assign]
    started = time.perf_counter()
    replay._ticks(NEVER, f"start:{replay.run_id}")
    replay._produce(lines, lambda record: None, None)
    # The end of the log as ``KafkaReplay.run`` makes it: held events released, the end tick.
    released, end = replay.stamper.finish(None)
    replay._send(released, lambda record: None)
    replay._ticks(end, f"end:{replay.run_id}")
    replay.producer.flush()
    seconds = time.perf_counter() - started
    replay.producer.close(timeout=5)
    return Produced(settings, replay.run_id, replay.summary.lines, sent[0], seconds)


# -- raw aiokafka --------------------------------------------------------------------------------


async def _raw_consume(
    bootstrap: str, topics: list[str], partitions: int, expect: int, timeout: float
) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(t, p) for t in topics for p in range(partitions)])
        count, last = 0, 0.0
        first = time.perf_counter()  # the fetches are the work: the clock starts before the first
        deadline = time.monotonic() + timeout
        while count < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=20_000)
            for records in batches.values():
                if records:
                    count += len(records)
                    last = time.perf_counter()
        return {"count": count, "seconds": last - first}
    finally:
        await consumer.stop()


def raw_child(argv: list[str]) -> None:
    bootstrap, topics, partitions, expect, timeout = (
        argv[0],
        argv[1].split(","),
        int(argv[2]),
        int(argv[3]),
        float(argv[4]),
    )
    result = asyncio.run(_raw_consume(bootstrap, topics, partitions, expect, timeout))
    result["peak_rss_bytes"] = peak_rss_bytes()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


def run_raw(produced: Produced, timeout: float) -> dict[str, Any]:
    names = produced.settings.topics
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.kafka_rows",
            "raw",
            produced.settings.brokers[0],
            ",".join(names.inputs),
            str(produced.settings.partitions),
            str(produced.messages),
            str(timeout),
        ],
        capture_output=True,
        cwd=REPO,
        timeout=timeout + 60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"raw aiokafka consumer failed: {proc.stderr.decode()[-2000:]}")
    result = orjson.loads(proc.stdout.splitlines()[-1])
    return {
        "count": result["count"],
        "seconds": result["seconds"],
        "peak_rss_bytes": result["peak_rss_bytes"],
        "complete": result["count"] >= produced.messages,
    }


# -- bare Faust ----------------------------------------------------------------------------------


def run_bare_faust(
    produced: Produced, workdir: Path, timeout: float, timing: tuple[str, ...] = ()
) -> dict[str, Any]:
    out = workdir / f"faust-bare-{produced.run_id}.json"
    out.unlink(missing_ok=True)
    env = dict(
        os.environ,
        BENCH_BROKER=f"kafka://{produced.settings.brokers[0]}",
        BENCH_TOPICS=",".join(produced.settings.topics.inputs),
        BENCH_PARTITIONS=str(produced.settings.partitions),
        BENCH_EXPECT=str(produced.messages),
        BENCH_OUT=str(out),
        BENCH_APP_ID=f"bench-bare-{produced.run_id}",
        **_timing_env(timing),
    )
    log = (workdir / f"faust-bare-{produced.run_id}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import bench.faust_bare as m; m.main()"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not out.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"bare Faust agent exited with {proc.returncode}; see {log.name}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"bare Faust agent did not count {produced.messages} messages in {timeout:.0f}s"
                )
            time.sleep(0.1)
        result = orjson.loads(out.read_bytes())
    finally:
        _stop(proc)
        log.close()
    return {
        "count": result["count"],
        "seconds": result["last"] - result["first"],
        "peak_rss_bytes": result["peak_rss_bytes"],
        "complete": True,
    }


def _timing_env(timing: tuple[str, ...]) -> dict[str, str]:
    """The worker's ``--session-timeout``/``--heartbeat-interval`` flags for the bare agent."""
    flags = dict(zip(timing[::2], timing[1::2], strict=True))
    env = {}
    if "--session-timeout" in flags:
        env["BENCH_SESSION_TIMEOUT"] = flags["--session-timeout"]
    if "--heartbeat-interval" in flags:
        env["BENCH_HEARTBEAT_INTERVAL"] = flags["--heartbeat-interval"]
    return env


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- Holdwatch workers ---------------------------------------------------------------------------


def run_workers(
    produced: Produced,
    workers: int,
    workdir: Path,
    timeout: float,
    timing: tuple[str, ...] = (),
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Start ``workers`` Holdwatch workers on pre-produced topics; time the first input message a
    worker handled -> the last end barrier in the alerts topic.

    The start is the worker's own (its log's first "partition N: ... cases recovered", written
    when a partition's first message arrives), as the bare agent times from its first message.
    It used to be the first start barrier back in the alerts topic; but a worker sends its facts
    and barriers when a delivery run ends, and with the whole log already in the topics its first
    run could take most of the log, so that window began seconds after the work did and left it
    out: the "fast mode" of the earlier bimodal figures (docs/performance.md).

    Also records the cores the workers, the broker (``broker_pid``) and this reader kept busy
    over the window (``cores``; sampled when the harness sees that log line, at most 0.2 s late)
    and when each partition's first output record and end barrier came back, from the window's
    start (``barrier_spread``): a worker stalled on one partition shows there."""
    from streams.streaming.kafka_replay import OutputReader
    from streams.streaming.run import WorkerProcess, event_worker_args

    alerts: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    last_end: list[float] = []  # time.time()
    window = CpuWindow({"broker": broker_pid})
    started_at: list[float] = []
    ended_at: list[float] = []

    class TimedReader(OutputReader):
        """The topics are fresh, so every record belongs to this run. Events were produced before
        any worker ran (unlike ``replay --kafka``, which sends events only once every start
        barrier is back), so an alert may precede its partition's start marker: keep it."""

        def _handle(self, tp: Any, record: Any) -> None:
            before = (len(self.started), len(self.ended))
            self.started.add(tp)  # keep an alert written before its partition's start marker
            super()._handle(tp, record)
            if len(self.started) > before[0]:  # the partition's first output record
                started_at.append(time.time())
            if len(self.ended) > before[1]:
                last_end[:] = [time.time()]
                ended_at.append(last_end[0])
                window.mark_end()

    reader = TimedReader(produced.settings, produced.run_id, alerts.append, dead.append)
    reader.start()
    logs = [workdir / f"worker-{produced.run_id}-{i}.log" for i in range(workers)]
    procs = [
        WorkerProcess(
            produced.settings, [*event_worker_args(), "--log-level", "info", *timing], log_path=log
        ).start()
        for log in logs
    ]
    for i, proc in enumerate(procs):
        window.pids[f"worker{i + 1}"] = proc.proc.pid if proc.proc is not None else 0
    peaks: list[int] = []
    try:
        deadline = time.monotonic() + timeout
        while reader.is_alive() and time.monotonic() < deadline:
            reader.join(0.2)
            if not window.wall and any(first_message_at(log) for log in logs):
                window.begin()
            for proc in procs:
                if proc.proc is not None and not proc.running:
                    raise RuntimeError(
                        f"worker exited with {proc.proc.returncode}; see {proc.log_path}"
                    )
        complete = not reader.is_alive() and reader.error is None
        for proc in procs:
            if proc.proc is not None:
                peak = vm_hwm(proc.proc.pid)
                if peak:
                    peaks.append(peak)
    finally:
        reader.stop()
        for proc in procs:
            proc.stop()
    firsts = [at for at in map(first_message_at, logs) if at is not None]
    first = min(firsts) if firsts else None
    seconds = (last_end[0] - first) if first is not None and last_end else float("nan")
    return {
        "count": produced.events,
        "seconds": seconds,
        "peak_rss_bytes": max(peaks) if peaks else None,
        "peak_rss_each": peaks,
        "complete": complete,
        "alerts": alerts,
        "dead_letters": len(dead),
        "ended_partitions": len(reader.ended),
        "partitions": len(reader.partitions),
        "cores": window.cores(),
        "barrier_spread": {
            "starts_s": [round(t - first, 2) for t in started_at] if first is not None else [],
            "ends_s": [round(t - first, 2) for t in ended_at] if first is not None else [],
        },
    }


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        raw_child(sys.argv[2:])
