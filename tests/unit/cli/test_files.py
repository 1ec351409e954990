"""streams/cli/files.py: the same-file checks and the signal guard, without a subprocess."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from streams.cli.files import Interrupted, SignalGuard, refuse_clobbering, write_summary
from streams.errors import UsageError


def test_a_signal_during_a_write_is_raised_only_when_the_write_is_done() -> None:
    """A write cut in the middle loses bytes a gzip's CRC already counts: it must finish."""
    written: list[str] = []

    def write(record: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-write
        written.append(record)

    with SignalGuard() as guard:
        guarded = guard.guarded(write)
        with pytest.raises(Interrupted) as stopped:
            guarded("whole record")
    assert written == ["whole record"]
    assert stopped.value.signum == signal.SIGTERM


def test_a_signal_outside_a_write_is_raised_at_once_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with SignalGuard(), pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            pass
    assert signal.getsignal(signal.SIGINT) is before


def test_a_signal_while_closing_waits_for_the_close(tmp_path: Path) -> None:
    closed: list[bool] = []
    with pytest.raises(Interrupted), SignalGuard() as guard:
        guard.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        closed.append(True)
    assert closed == [True]


def test_outputs_on_new_files_with_one_path_are_refused(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"{}\n")
    refuse_clobbering(str(log), {"--alerts-out": str(tmp_path / "a"), "--dead-letters": None})
    with pytest.raises(UsageError, match="--alerts-out and --summary-json name the same file"):
        refuse_clobbering(
            str(log),
            {"--alerts-out": str(tmp_path / "new"), "--summary-json": f"{tmp_path}/x/../new"},
        )


class FullDisk(io.BytesIO):
    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_both_replays_write_the_summary_the_same_way(tmp_path: Path) -> None:
    """One ``write_summary`` for ``replay`` and ``replay --kafka`` (on main each had its own copy,
    the Kafka one without closing quietly): the JSON, indented, the file closed; a full disk is
    one usage-error line and the file still closed."""
    with open(tmp_path / "summary.json", "wb") as out:
        write_summary(out, {"lines": 2}, "summary.json")
        assert out.closed
    assert json.loads((tmp_path / "summary.json").read_text()) == {"lines": 2}
    full = FullDisk()
    with pytest.raises(UsageError, match=r"cannot write --summary-json s\.json: No space left"):
        write_summary(full, {"lines": 2}, "s.json")
    assert full.closed
