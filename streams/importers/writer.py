"""Write events as JSON Lines (orjson), to stdout, a file, or a gzip file (``.gz``).

A file is written next to its final name and renamed into place at the end, so an interrupted or
failed run never leaves a truncated log that looks complete. Gzip output has a zero mtime and no
file name, so the same input always gives the same bytes.
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _write_lines(events: Iterable[dict[str, Any]], sink: _Sink) -> None:
    for event in events:
        sink.write(orjson.dumps(event) + b"\n")


def write_log(events: Iterable[dict[str, Any]], out: Path | None) -> None:
    """Write ``events`` to ``out`` (``None``: stdout); a name ending in ``.gz`` is gzipped."""
    if out is None:
        _write_lines(events, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a log is meant to be shared
        with os.fdopen(fd, "wb") as raw:
            if out.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
                    _write_lines(events, zipped)
            else:
                _write_lines(events, raw)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
