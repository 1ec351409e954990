"""``holdwatch replay`` never destroys or half-writes a user's files (issue 12, section 6).

Every test runs the installed console script on real files. Each failed on main: the input was
truncated with exit 0, outputs on one file interleaved, unwritable outputs and a truncated gzip
gave tracebacks (some after the whole replay), SIGTERM left a gzip without its trailer, a BOM
lost the first event, a file of nothing but dead letters exited 0, and ``999999d`` crashed.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streams.cli.demo import sample_log
from tests.integration.cli.test_replay_cli import HOLDWATCH, run

UNTIL = ("--until", "2011-10-07T00:00:00-04:00")


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The last stderr line, checked to be the CLI's one-line error (no traceback anywhere)."""
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("holdwatch "), stderr
    return last


# -- outputs that would overwrite the input or each other: refused before reading -----------------


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "stdin redirect"])
def test_an_output_that_is_the_input_log_is_refused(log: Path, tmp_path: Path, how: str) -> None:
    """On main: the input was truncated to nothing and the replay exited 0."""
    before = log.read_bytes()
    out = log
    if how == "symlink":
        out = tmp_path / "alias.jsonl"
        out.symlink_to(log)
    elif how == "hard link":
        out = tmp_path / "hard.jsonl"
        os.link(log, out)
    if how == "stdin redirect":
        with log.open("rb") as stdin:
            result = subprocess.run(
                [HOLDWATCH, "replay", "-", "--alerts-out", str(out)],
                stdin=stdin,
                capture_output=True,
                timeout=60,
            )
    else:
        result = run("replay", str(log), "--alerts-out", str(out))
    assert result.returncode == 2
    assert "is the input log" in one_error_line(result)
    assert log.read_bytes() == before


@pytest.mark.parametrize(
    "flags",
    [
        ("--alerts-out", "{d}/out.jsonl", "--dead-letters", "{d}/./out.jsonl"),
        ("--alerts-out", "{d}/out.jsonl", "--summary-json", "{d}/out.jsonl"),
        ("--dead-letters", "{d}/dead.jsonl", "--summary-json", "{d}/link.jsonl"),
    ],
)
def test_two_outputs_on_one_file_are_refused(
    log: Path, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """On main: the alerts and dead-letter lines interleaved in one corrupt file."""
    (tmp_path / "dead.jsonl").write_bytes(b"keep me\n")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "dead.jsonl")
    result = run("replay", str(log), *(f.format(d=tmp_path) for f in flags))
    assert result.returncode == 2
    assert "name the same file" in one_error_line(result)
    assert (tmp_path / "dead.jsonl").read_bytes() == b"keep me\n"  # refused before opening


def test_dev_null_may_take_every_output(log: Path) -> None:
    flags = ("--alerts-out", "/dev/null", "--dead-letters", "/dev/null")
    assert run("replay", str(log), *flags, "--summary-json", "/dev/null").returncode == 0


# -- unwritable outputs and a busy port: one line, exit 2, before the work where it can be known --


def test_alerts_to_a_full_device_are_one_line_and_exit_2() -> None:
    """On main: a traceback (OSError: No space left on device)."""
    result = run("replay", str(sample_log()), "--alerts-out", "/dev/full", "-q")
    assert result.returncode == 2
    assert "cannot write /dev/full: No space left on device" in one_error_line(result)


def test_a_summary_to_a_full_device_is_one_line_and_exit_2(log: Path) -> None:
    result = run("replay", str(log), "--summary-json", "/dev/full", "-q")
    assert result.returncode == 2
    assert "--summary-json /dev/full: No space left" in one_error_line(result)


@pytest.fixture
def read_only_file(tmp_path: Path) -> Iterator[Path]:
    """A file this process cannot write: mode 0444, or (as root, who ignores modes) immutable."""
    file = tmp_path / "summary.json"
    file.write_bytes(b"{}\n")
    if os.geteuid() != 0:
        file.chmod(0o444)
        yield file
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(file)]).returncode:
        pytest.skip("root without chattr +i: no way to make a read-only file here")
    try:
        yield file
    finally:
        subprocess.run(["chattr", "-i", str(file)], check=True)


def test_a_read_only_summary_is_refused_before_any_work(
    log: Path, tmp_path: Path, read_only_file: Path
) -> None:
    """On main: a PermissionError traceback after the whole replay, the alerts already written."""
    alerts = tmp_path / "alerts.jsonl"
    result = run(
        "replay", str(log), "--alerts-out", str(alerts), "--summary-json", str(read_only_file)
    )
    assert result.returncode == 2
    assert f"--summary-json {read_only_file}: cannot write" in one_error_line(result)
    assert not alerts.exists()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [
        ("replay", "{log}", "--alerts-out", "{tmp}/alerts.jsonl"),
        ("worker", "--metrics-host", "127.0.0.1", "--broker", "kafka://127.0.0.1:1"),
        ("demo",),
    ],
)
def test_a_busy_metrics_port_is_one_line_before_any_work(
    log: Path, tmp_path: Path, busy_port: int, command: tuple[str, ...]
) -> None:
    """On main: replay wrote every alert and then died with a traceback; the worker's traceback
    came after it connected; demo's worker child died and the demo waited for it."""
    args = [a.format(log=log, tmp=tmp_path) for a in command]
    started = time.monotonic()
    result = run(*args, "--metrics-port", str(busy_port))
    assert result.returncode == 2
    assert f"--metrics-port {busy_port}: cannot listen" in one_error_line(result)
    assert "Address already in use" in result.stderr.decode()
    assert time.monotonic() - started < 20
    assert not (tmp_path / "alerts.jsonl").exists()


# -- unreadable input ---------------------------------------------------------------------------


def test_a_truncated_gzip_reports_what_was_read_then_one_line(tmp_path: Path) -> None:
    """On main: EOFError traceback, no summary."""
    packed = sample_log().read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    summary = tmp_path / "summary.json"
    result = run("replay", str(cut), "--summary-json", str(summary), "--alerts-out", "/dev/null")
    assert result.returncode == 2
    assert "the gzip data ends early" in one_error_line(result)
    stderr = result.stderr.decode()
    assert stderr.index("holdwatch replay summary") < stderr.index("error:")
    numbers = orjson.loads(summary.read_bytes())
    assert (
        0
        < numbers["events_read"]
        == numbers["accepted"] + numbers["duplicates"] + sum(numbers["dead_letters"].values())
    )


# -- signals while writing gzip outputs --------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_gzip_leaves_valid_gzip_files(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """The replay reads stdin, kept open, so it is mid-log when the signal comes. On main,
    SIGTERM killed it with the gzip trailer unwritten and ``gzip -t`` rejected the file."""
    full = gzip.decompress(sample_log().read_bytes())
    expected = run("replay", "-", "-q", stdin=full).stdout.splitlines()
    alerts = tmp_path / "alerts.jsonl.gz"
    dead = tmp_path / "dead.jsonl.gz"
    proc = subprocess.Popen(
        [HOLDWATCH, "replay", "-", "--alerts-out", str(alerts), "--dead-letters", str(dead)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(full)  # two full chunks are processed; the third waits for the end of input
    proc.stdin.flush()
    time.sleep(3)
    proc.send_signal(signum)
    try:
        code = proc.wait(30)
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode()
    assert code == 128 + signum, stderr
    assert f"stopped by {signum.name}" in stderr and "Traceback" not in stderr
    gzip_binary = shutil.which("gzip")
    for output in (alerts, dead):
        if gzip_binary:
            assert subprocess.run([gzip_binary, "-t", str(output)]).returncode == 0
    written = gzip.decompress(alerts.read_bytes()).splitlines()
    assert written and written == expected[: len(written)]  # whole records, a prefix of the run


# -- encodings ----------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_is_stripped(log: Path, tmp_path: Path) -> None:
    """On main: the first line (the booking) was invalid_json, and its alerts lost the
    jurisdiction."""
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + log.read_bytes())
    dead_plain, dead_bom = tmp_path / "dead-plain.jsonl", tmp_path / "dead-bom.jsonl"
    plain = run("replay", str(log), *UNTIL, "--dead-letters", str(dead_plain), "-q")
    bom = run("replay", str(with_bom), *UNTIL, "--dead-letters", str(dead_bom), "-q")
    assert bom.returncode == 0
    assert bom.stdout == plain.stdout
    assert {orjson.loads(a)["jurisdiction"] for a in bom.stdout.splitlines()} == {"NY-NewYorkCity"}
    assert dead_bom.read_bytes() == dead_plain.read_bytes()


@pytest.mark.parametrize("encoding", ["CR line ends", "UTF-16"])
def test_a_log_of_nothing_but_dead_letters_exits_1_with_a_hint(
    log: Path, tmp_path: Path, encoding: str
) -> None:
    """On main: exit 0 with every event a dead letter and nothing said."""
    text = log.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        text.replace(b"\n", b"\r") if encoding == "CR line ends" else text.decode().encode("utf-16")
    )
    result = run("replay", str(bad), "-q")
    assert result.returncode == 1
    assert "every line" in one_error_line(result)
    assert "is this UTF-8 JSON Lines" in one_error_line(result)


def test_an_empty_log_is_not_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    assert run("replay", str(empty), "-q").returncode == 0


# -- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("replay", "{log}", "--allowed-lateness", "999999d"), "too long: at most 3650d"),
        (("replay", "{log}", "--allowed-lateness", "9" * 400 + "d"), "too long"),
        (("replay", "{log}", "--until", "9999-01-01T00:00:00Z"), "out of range"),
        (("worker", "--live-lateness", "999999d"), "too long: at most 3650d"),
    ],
)
def test_a_duration_out_of_range_is_one_line_and_exit_2(
    log: Path, args: tuple[str, ...], message: str
) -> None:
    """On main: ``--allowed-lateness 999999d`` was a ValueError traceback mid-run."""
    result = run(*(a.format(log=log) for a in args))
    assert result.returncode == 2
    assert message in one_error_line(result)


# -- the same through replay --kafka --------------------------------------------------------------


def test_the_kafka_replay_refuses_an_output_on_the_input_before_starting_a_broker(
    log: Path,
) -> None:
    before = log.read_bytes()
    result = run("replay", str(log), "--kafka", "--alerts-out", str(log))
    assert result.returncode == 2
    assert "is the input log" in one_error_line(result)
    assert "starting the embedded" not in result.stderr.decode()
    assert log.read_bytes() == before


@pytest.mark.kafka
def test_the_kafka_replay_of_nothing_but_dead_letters_exits_1(log: Path, tmp_path: Path) -> None:
    """On main: exit 0 (the embedded broker and worker are started and stopped)."""
    bad = tmp_path / "cr.jsonl"
    bad.write_bytes(log.read_bytes().replace(b"\n", b"\r"))
    result = run("replay", str(bad), "--kafka", "-q")
    assert result.returncode == 1
    assert "every line (1) was a dead letter" in one_error_line(result)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc: no ps needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


@pytest.mark.kafka
def test_sigterm_stops_a_kafka_replay_with_valid_outputs_and_no_process_left(
    log: Path, tmp_path: Path
) -> None:
    """On main SIGTERM killed ``replay --kafka`` at once: a gzip without its trailer."""
    alerts = tmp_path / "alerts.jsonl.gz"
    proc = subprocess.Popen(
        [HOLDWATCH, "replay", "-", "--kafka", "--alerts-out", str(alerts), "-q"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(log.read_bytes())  # stdin stays open: the replay waits for more
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while len(children(proc.pid)) < 2 and time.monotonic() < deadline:  # broker and worker
        time.sleep(0.2)
    started = children(proc.pid)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode()
    assert code == 143, stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    gzip.decompress(alerts.read_bytes())  # complete: trailer and CRC check
    assert len(started) >= 2
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()]
