"""EmbeddedBroker: starts, answers, and never leaves a process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from streams.kafka.broker import BrokerStartError, EmbeddedBroker, probe_api_versions

pytestmark = pytest.mark.kafka

REPO_ROOT = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    """True if *pid* exists and is not a zombie (PID 1 in containers may not reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_starts_answers_and_stops() -> None:
    broker = EmbeddedBroker()
    t0 = time.monotonic()
    with broker as b:
        assert time.monotonic() - t0 < 5
        assert b.url == f"kafka://127.0.0.1:{b.port}"
        assert probe_api_versions(b.host, b.port)
        pid = b.pid
        assert pid is not None and _alive(pid)
        assert "tansu broker" in b.log_tail()
    assert not broker.running
    assert _wait_dead(pid)
    assert not probe_api_versions("127.0.0.1", broker.port, timeout=0.3)


def test_stops_on_exception() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(RuntimeError, match="boom"), broker:
        pid = broker.pid
        raise RuntimeError("boom")
    assert pid is not None and _wait_dead(pid)
    broker.stop()  # idempotent


def test_start_failure_reports_log_tail(tmp_path: Path) -> None:
    fake = tmp_path / "fake-tansu"
    fake.write_text("#!/bin/sh\necho 'address already in use (fake)' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerStartError, match=r"exited with code 3[\s\S]*address already in use"):
        EmbeddedBroker(binary=str(fake), startup_timeout=3).start()


def _spawn_parent(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A Python parent holding a broker in a with-block; returns (parent, broker pid)."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from streams.kafka.broker import EmbeddedBroker
        with EmbeddedBroker() as b:
            print(b.pid, flush=True)
            time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), line
    return parent, int(line)


def test_ctrl_c_in_parent_stops_broker(tmp_path: Path) -> None:
    parent, pid = _spawn_parent(tmp_path)
    try:
        assert _alive(pid)
        parent.send_signal(signal.SIGINT)  # KeyboardInterrupt -> __exit__ -> stop()
        # A hang guard, not a timing: stop() may take 5 s for SIGTERM and 5 more after SIGKILL,
        # so 10 s failed once on a loaded machine (three brokers on two cores).
        parent.wait(30)
        assert _wait_dead(pid)
    finally:
        parent.kill()
        parent.wait()


def test_sigkill_of_parent_takes_broker_along(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    parent, pid = _spawn_parent(tmp_path)
    try:
        parent.kill()  # no Python cleanup runs: relies on PDEATHSIG
        parent.wait(10)
        assert _wait_dead(pid), "broker survived a SIGKILL of its parent"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
