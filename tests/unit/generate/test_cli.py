"""``holdwatch generate`` on the command line."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from datetime import date
from pathlib import Path

import orjson
import pytest

from streams.cli.main import main
from streams.generate import generate


def test_writes_the_log_to_a_file_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log.jsonl"
    assert main(["generate", "--bookings", "300", "--seed", "7", "--out", str(out)]) == 0
    assert out.read_bytes() == b"".join(generate(300, seed=7))
    summary = capsys.readouterr().err.strip().splitlines()
    assert len(summary) == 1
    assert "300 bookings" in summary[0] and "hits" in summary[0] and "detainers" in summary[0]


def test_the_summary_counts_the_noise_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generator counted its noise and nothing read the counts (main printed none)."""
    out = tmp_path / "log.jsonl"
    assert main(["generate", "--bookings", "3000", "--seed", "7", "--out", str(out)]) == 0
    summary = capsys.readouterr().err
    ids = Counter(orjson.loads(line)["event_id"] for line in out.read_bytes().splitlines())
    repeats = sum(n - 1 for n in ids.values())
    assert repeats > 0 and f"noise: {repeats} duplicates, " in summary
    assert re.search(r"\d+ out of order, \d+ late, \d+ early\)", summary)


def test_a_gz_name_writes_reproducible_gzip(tmp_path: Path) -> None:
    paths = [tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"]
    for path in paths:
        assert main(["generate", "--bookings", "300", "--seed", "7", "--out", str(path)]) == 0
    assert gzip.decompress(paths[0].read_bytes()) == b"".join(generate(300, seed=7))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_dash_writes_to_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    args = ["generate", "--bookings", "50", "--seed", "2", "--start", "2015-06-01"]
    assert main([*args, "--per-day", "80", "--out", "-"]) == 0
    captured = capfdbinary.readouterr()
    assert captured.out == b"".join(generate(50, seed=2, start=date(2015, 6, 1), per_day=80))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--start", "2011-13-01"], "--start must be a date"),
        (["--start", "yesterday"], "--start must be a date"),
        (["--per-day", "0"], "--per-day must be a positive number"),
        (["--per-day", "nan"], "--per-day must be a positive number"),
        (["--bookings", "-1"], "--bookings must be >= 0"),
        (["--bookings", "ten"], "--bookings must be an integer"),
        (["--seed", "1.5"], "--seed must be an integer"),
        (["--start", "9999-01-01"], "runs past the year"),
    ],
)
def test_unusable_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    args = {"--bookings": "10", "--seed": "1", "--out": str(tmp_path / "x.jsonl")}
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        args[flag] = value
    argv = ["generate", *(item for pair in args.items() for item in pair)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("holdwatch generate: error: ")
    assert message in err
    assert not (tmp_path / "x.jsonl").exists()


def test_an_unwritable_output_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing" / "log.jsonl"
    assert main(["generate", "--bookings", "1", "--seed", "1", "--out", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err
