"""streams/cli/files.py: the same-file checks and the signal guard, without a subprocess."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from streams.cli.files import Interrupted, SignalGuard, refuse_clobbering
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
