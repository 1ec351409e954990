"""The Kafka rows' CPU accounting: cores busy per process over the measured window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from bench.kafka_rows import CpuWindow, cpu_seconds, first_message_at
from bench.run import _cores, _cpu_per_event, _rounds, median_round


def _burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_cpu_seconds_reads_a_running_process_and_none_for_a_gone_one() -> None:
    before = cpu_seconds(os.getpid())
    _burn(0.2)
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.15  # clock ticks are 10 ms
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert cpu_seconds(gone.pid) is None


def test_the_window_shows_a_busy_child_as_about_one_core_and_sums_the_processes() -> None:
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # past the interpreter's start-up
        window = CpuWindow({"busy": child.pid, "absent": None})
        window.begin()
        time.sleep(1.0)
        window.mark_end()
    finally:
        child.kill()
        child.wait()
    cores = window.cores()
    assert set(cores) == {"reader", "busy", "total"}  # no entry for a process not given
    assert 0.3 <= cores["busy"] <= 1.05  # one core at most; less when the machine is shared
    assert cores["reader"] < 0.2  # this process slept
    assert cores["total"] == round(cores["reader"] + cores["busy"], 2)


def test_an_unfinished_window_reports_nothing_and_the_note_says_so() -> None:
    window = CpuWindow({})
    assert window.cores() == {}
    window.begin()
    assert window.cores() == {}
    assert _cores({}) == "n/a"
    assert _cores({"worker1": 0.9, "broker": 0.25, "total": 1.15}) == (
        "worker1 0.90 + broker 0.25 = 1.15"
    )


def test_the_worker_window_starts_at_the_first_partition_its_log_says_it_opened(
    tmp_path: Path,
) -> None:
    """The worker rows time from the worker's first input message (the rules agent's INFO line
    when a partition's first message arrives), in the local time Faust's log writes."""
    log = tmp_path / "worker.log"
    assert first_message_at(log) is None  # not written yet
    log.write_bytes(
        b"holdwatch worker starting: brokers=127.0.0.1:1 ...\n"
        b"[2026-12-07 15:09:04,071] [7143] [INFO] [^Worker]: Ready \n"
        b"[2026-12-07 15:09:04,217] [7143] [INFO] partition 1: 0 cases recovered \n"
        b"[2026-12-07 15:09:04,218] [7143] [INFO] partition 7: 0 cases recovered \n"
    )
    expected = datetime(2026, 12, 7, 15, 9, 4, 217000).timestamp()
    assert first_message_at(log) == pytest.approx(expected, abs=1e-6)
    log.write_bytes(b"[2026-12-07 15:09:04,071] [7143] [INFO] [^Worker]: Ready \n")
    assert first_message_at(log) is None


def test_cpu_per_event_counts_every_process_over_the_window() -> None:
    one = {
        "cores": {"worker1": 0.95, "broker": 0.08, "reader": 0.02, "total": 1.05},
        "seconds": 4.0,
    }
    assert _cpu_per_event(one, 20_000) == "210 µs"  # 1.05 cores x 4 s / 20,000 events
    assert _cpu_per_event({"cores": {}, "seconds": 4.0}, 20_000) == "n/a"  # window never closed
    assert _cpu_per_event({"cores": {"total": 1.0}, "seconds": float("nan")}, 20_000) == "n/a"


def test_a_row_shows_its_median_round_whole_and_lists_every_round() -> None:
    """Rates, cores and memory of one round stay together; a round that never finished (NaN)
    counts as the slowest, not as a median."""
    rounds = [
        {"seconds": 8.0, "cores": {"total": 1.0}},
        {"seconds": float("nan"), "cores": {}},
        {"seconds": 5.0, "cores": {"total": 1.1}},
        {"seconds": 6.0, "cores": {"total": 1.2}},
    ]
    assert median_round(rounds) is rounds[0]  # 5 s, 6 s, 8 s, never: the slower middle
    assert median_round(rounds[::2] + rounds[3:]) is rounds[3]  # 5 s, 6 s, 8 s
    assert median_round(rounds[:1]) is rounds[0]
    assert _rounds(rounds[::2], 40_000) == "rounds 5,000 / 8,000 events/s, median shown"
    assert _rounds(rounds[1:2], 40_000) == "one round"
