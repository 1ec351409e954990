"""A worker's RocksDB directory when several workers share one data volume.

``docker compose up --scale worker=3`` mounts the same named volume in every replica, and
Faust keeps one RocksDB per table partition there. Two workers must never open the same one
(a standby replica and the active one, or the old and new owner during a rebalance: RocksDB's
lock refuses the second). So each worker claims a slot, ``DIR/worker-N``, holding an exclusive
``flock`` on ``DIR/worker-N.lock`` for as long as it runs: the lowest slot no running worker
holds. A restarted replica takes a free slot again and finds its predecessor's state there (the
changelog is the source of truth; the local state only shortens recovery), and the volume holds
at most as many slots as replicas ever ran at once, never one per container id.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import BinaryIO

MAX_SLOTS = 256


class NoFreeSlot(RuntimeError):
    pass


def claim(base: Path, limit: int = MAX_SLOTS) -> tuple[Path, BinaryIO]:
    """The slot directory and its open, locked lock file (keep it open: closing releases)."""
    base.mkdir(parents=True, exist_ok=True)
    for n in range(limit):
        lock = (base / f"worker-{n}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        slot = base / f"worker-{n}"
        slot.mkdir(exist_ok=True)
        return slot, lock
    raise NoFreeSlot(f"{limit} workers already hold a slot in {base}")
