"""``holdwatch worker`` at start: no broker, or no secrets in production, is one line and exit 2.

Both fail on the starting main: an unreachable broker gave a 41-line traceback after 30 s, and a
production worker started without a control key (there was none to check)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from streams.kafka.broker import free_port


def _worker(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "worker", "--metrics-port", "0", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stderr + proc.stdout


def test_an_unreachable_broker_is_one_line_per_wait_then_exit_2() -> None:
    closed = free_port()  # nothing listens there
    started = time.monotonic()
    code, output = _worker("--broker", f"kafka://127.0.0.1:{closed}", "--connect-timeout", "8")
    assert code == 2
    assert time.monotonic() - started < 30
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines[-1].startswith("holdwatch worker: error: Kafka at 127.0.0.1:")
    assert "not reachable" in lines[-1]
    waiting = lines[:-1]
    assert waiting, "it says that it waits"
    assert all(line.startswith("holdwatch worker: waiting for Kafka at ") for line in waiting)


def test_a_negative_connect_timeout_is_a_usage_error() -> None:
    code, output = _worker("--connect-timeout", "-1")
    assert code == 2 and output.count("\n") == 1


def test_production_without_a_control_key_refuses_to_start() -> None:
    code, output = _worker(
        "--broker",
        f"kafka://127.0.0.1:{free_port()}",
        env={
            "HOLDWATCH_ENV": "production",
            "HOLDWATCH_PSEUDONYM_KEY": "p" * 32,
            "HOLDWATCH_CONTROL_KEY": "",
            "HOLDWATCH_CONTROL_KEY_FILE": "",
        },
        timeout=30,
    )
    assert code == 2
    assert output.strip().splitlines() == [
        "holdwatch worker: error: HOLDWATCH_ENV=production needs a control key: set "
        "HOLDWATCH_CONTROL_KEY_FILE to a secret file (or HOLDWATCH_CONTROL_KEY) holding at least "
        "16 random bytes"
    ]
