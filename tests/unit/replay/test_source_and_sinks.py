"""The log source and the JSON Lines sinks: a BOM is not part of the first event, damage to the
input and failure of an output are one clear error each, and a failed output closes quietly."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streams.replay.sinks import JsonLinesWriter, SinkError
from streams.replay.source import LogSource, SourceError

LINES = [b'{"a": 1}\n', b'{"b": 2}\n', b'{"c": 3}\n']


def test_a_utf8_bom_is_stripped_from_the_first_line_only(tmp_path: Path) -> None:
    """On main the BOM stayed on the first line (an invalid_json dead letter)."""
    file = tmp_path / "bom.jsonl"
    file.write_bytes(b"\xef\xbb\xbf" + b"".join(LINES) + b"\xef\xbb\xbf{}\n")
    with LogSource(str(file)) as source:
        assert list(source.lines()) == [*LINES, b"\xef\xbb\xbf{}\n"]


def test_an_empty_log_has_no_lines(tmp_path: Path) -> None:
    file = tmp_path / "empty.jsonl"
    file.write_bytes(b"")
    with LogSource(str(file)) as source:
        assert list(source.lines()) == []


def test_a_truncated_gzip_yields_what_it_holds_then_a_source_error(tmp_path: Path) -> None:
    """On main: EOFError from deep inside gzip."""
    many = [b'{"n": %d, "pad": "%s"}\n' % (n, b"x" * (n % 97)) for n in range(20_000)]
    packed = gzip.compress(b"".join(many))
    file = tmp_path / "cut.jsonl.gz"
    file.write_bytes(packed[: len(packed) // 2])
    read: list[bytes] = []
    with LogSource(str(file)) as source, pytest.raises(SourceError, match="ends early"):
        read.extend(source.lines())
    assert 0 < len(read) < len(many)
    assert read[:-1] == many[: len(read) - 1]  # every whole line before the damage


def test_a_write_to_a_full_device_is_a_sink_error_and_close_is_then_quiet() -> None:
    writer = JsonLinesWriter("/dev/full")
    with pytest.raises(SinkError, match="cannot write /dev/full: No space left on device"):
        for n in range(100_000):  # past the write buffer
            writer.write({"n": n})
    writer.close()  # the data is lost either way: no second error


def test_a_close_that_cannot_flush_is_a_sink_error() -> None:
    writer = JsonLinesWriter("/dev/full")
    writer.write({"n": 1})  # buffered
    with pytest.raises(SinkError, match="No space left"):
        writer.close()
