"""``holdwatch replay`` end to end, through the installed console script."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support import Events, lines

HOLDWATCH = shutil.which("holdwatch") or f"{Path(sys.executable).parent}/holdwatch"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([HOLDWATCH, *args], input=stdin, capture_output=True, timeout=120)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    ev = Events("bk-cli")
    events = [
        ev.booking("2011-10-03 08:00"),
        ev.hit("2011-10-03 09:00"),
        ev.detainer("2011-10-03 10:00"),
        ev.detainer("2011-10-03 11:00", action="served"),
        ev.release("2011-10-04 10:00", "eligible"),
    ]
    raw = lines(events)
    raw.insert(2, b"{broken json")
    raw.insert(4, b'{"type": "hit"}')
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


def test_alerts_go_to_stdout_and_the_summary_to_stderr(log: Path) -> None:
    result = run("replay", str(log), "--until", "2011-10-06T12:00:00-04:00")
    assert result.returncode == 0
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {a["rule"] for a in alerts} == {"hold_limit_exceeded", "hold_limit_approaching"}
    summary = result.stderr.decode()
    assert "events read" in summary and "7" in summary
    assert "invalid_json" in summary and "schema_violation" in summary


def test_bad_lines_become_dead_letters_with_line_numbers(log: Path, tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    out = tmp_path / "alerts.jsonl"
    summary = tmp_path / "summary.json"
    result = run(
        "replay",
        str(log),
        "--alerts-out",
        str(out),
        "--dead-letters",
        str(dead),
        "--summary-json",
        str(summary),
    )
    assert result.returncode == 0
    records = [orjson.loads(line) for line in dead.read_bytes().splitlines()]
    assert [(r["line"], r["reason"], r["original"]) for r in records] == [
        (3, "invalid_json", "{broken json"),
        (5, "schema_violation", '{"type": "hit"}'),
    ]
    numbers = orjson.loads(summary.read_bytes())
    assert numbers["events_read"] == numbers["accepted"] + numbers["duplicates"] + sum(
        numbers["dead_letters"].values()
    )


def test_gzip_and_stdin_give_the_same_alerts(log: Path, tmp_path: Path) -> None:
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(log.read_bytes()))
    until = ("--until", "2011-10-07T00:00:00-04:00")
    plain = run("replay", str(log), *until).stdout
    assert plain
    assert run("replay", str(packed), *until).stdout == plain
    assert run("replay", "-", *until, stdin=log.read_bytes()).stdout == plain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("replay", "missing.jsonl"), "log file not found"),
        (("replay", "{log}", "--policy", "missing.toml"), "cannot read policy file"),
        (("replay", "{log}", "--until", "tomorrow"), "not an RFC 3339 timestamp"),
        (("replay", "{log}", "--allowed-lateness", "soon"), "bad duration"),
        (
            ("replay", "{log}", "--alerts-out", "/nonexistent/dir/a.jsonl"),
            "directory does not exist",
        ),
    ],
)
def test_an_unusable_invocation_exits_non_zero_with_one_line(
    log: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*(a.format(log=log) for a in args))
    assert result.returncode == 2
    error = result.stderr.decode().strip().splitlines()
    assert message in error[-1]


def test_help_describes_every_flag() -> None:
    text = run("replay", "--help").stdout.decode()
    for flag in ("--until", "--allowed-lateness", "--policy", "--alerts-out", "--dead-letters"):
        assert flag in text


def test_the_replay_serves_metrics_while_it_runs(log: Path) -> None:
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slow = subprocess.Popen(
        [HOLDWATCH, "replay", "-", "--metrics-port", str(port), "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert slow.stdin is not None
    slow.stdin.write(log.read_bytes())
    slow.stdin.flush()
    text = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "holdwatch_events_total" not in text:
        try:
            text = (
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
                .read()
                .decode()
            )
        except OSError:
            time.sleep(0.2)
    slow.stdin.close()
    slow.wait(30)
    assert 'holdwatch_events_total{outcome="accepted",type="booking"}' in text
    assert "bk-cli" not in text  # no booking id in any label
