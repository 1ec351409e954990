"""Replicas sharing one data volume (compose ``--scale worker=N``) never share a RocksDB, and
a restarted one reuses a free slot. Fails on main: every worker given ``--data-dir`` used the
directory itself, so two replicas opened the same partition databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streams.streaming.datadir import claim


def test_each_running_worker_gets_its_own_slot_and_a_freed_one_is_reused(tmp_path: Path) -> None:
    first, first_lock = claim(tmp_path)
    second, second_lock = claim(tmp_path)
    assert (first.name, second.name) == ("worker-0", "worker-1")
    assert first.is_dir() and second.is_dir()
    (first / "state").write_text("kept")
    first_lock.close()  # the first worker exits (or its container restarts)
    again, again_lock = claim(tmp_path)
    assert again == first and (again / "state").read_text() == "kept"
    again_lock.close()
    second_lock.close()


def test_a_slot_held_by_another_process_is_skipped(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, pathlib; from streams.streaming.datadir import claim; "
         "slot, lock = claim(pathlib.Path(sys.argv[1])); print(slot.name, flush=True); "
         "sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "worker-0"
        mine, lock = claim(tmp_path)
        assert mine.name == "worker-1"
        lock.close()
    finally:
        holder.communicate("", timeout=30)
