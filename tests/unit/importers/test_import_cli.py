"""``holdwatch import`` end to end through ``streams.cli.main.main``."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main


def lines(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def test_plain_in_stdout_out(
    fixtures: Path,
    capfdbinary: pytest.CaptureFixture[bytes],
    validate_event: Callable[[dict[str, Any]], None],
) -> None:
    code = main(["import", "--format", "pierce-county", str(fixtures / "holds.csv")])
    out, err = capfdbinary.readouterr()
    assert code == 0
    events = lines(out)
    assert len(events) == 25
    for event in events:
        validate_event(event)
    assert b"unmappable: 6" in err
    assert b"bad booking_dt (lines 5)" in err


def test_gzip_in_gzip_out(
    fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "holds.csv.gz"
    with (fixtures / "holds.csv").open("rb") as plain, gzip.open(source, "wb") as zipped:
        shutil.copyfileobj(plain, zipped)
    out = tmp_path / "log.jsonl.gz"
    argv = ["import", "--format", "pierce-county", str(source), "--form", "I-247-2011"]
    assert main([*argv, "--out", str(out)]) == 0
    first = out.read_bytes()
    events = lines(gzip.decompress(first))
    assert len(events) == 25
    assert {e["form"] for e in events if e.get("action") == "issued"} == {"I-247-2011"}
    assert "bookings: 7, detainers: 6" in capsys.readouterr().err
    assert main([*argv, "--out", str(out)]) == 0
    assert out.read_bytes() == first  # byte-identical: gzip mtime 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_plain_out_file(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.jsonl"
    assert (
        main(
            ["import", "--format", "pierce-county", str(fixtures / "holds.csv"), "--out", str(out)]
        )
        == 0
    )
    assert len(lines(out.read_bytes())) == 25


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "pierce-county", "{missing}"], "no such file"),
        (["--format", "king-county", "{holds}"], "unknown format 'king-county'"),
        (["--format", "pierce-county", "{wrong}"], "header lacks column(s)"),
        (["--format", "pierce-county", "{holds}", "--out", "{nodir}"], "output directory"),
    ],
)
def test_unusable_invocations_exit_2(
    fixtures: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    paths = {
        "missing": str(tmp_path / "nope.csv"),
        "holds": str(fixtures / "holds.csv"),
        "wrong": str(fixtures / "wrong_delimiter.csv"),
        "nodir": str(tmp_path / "no" / "such" / "log.jsonl"),
    }
    assert main(["import", *(a.format(**paths) for a in argv)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.startswith("holdwatch import: error:")


def test_empty_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["import", "--format", "pierce-county", str(empty)]) == 2
    assert "file is empty" in capsys.readouterr().err


def test_corrupt_gzip_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"booking_id|booking_dt\n" * 50)[:40])
    assert main(["import", "--format", "pierce-county", str(broken)]) == 2
    assert "not a pierce-county export" in capsys.readouterr().err


def test_bad_form_is_an_argparse_error(fixtures: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import", "--format", "pierce-county", str(fixtures / "holds.csv"), "--form", "x"])
    assert exc.value.code == 2
