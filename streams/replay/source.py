"""Open a recorded log: a path (plain or gzip, detected by content) or ``-`` for stdin."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
#: A UTF-8 byte-order mark, written by some Windows tools at the start of a text file. It is not
#: part of the first event: left in, it made that line invalid JSON (and lost its booking).
UTF8_BOM = b"\xef\xbb\xbf"


class SourceError(Exception):
    """The log cannot be read to its end (a truncated or corrupt gzip, an I/O error): one line.

    Raised by :meth:`LogSource.lines` after the lines before the damage were yielded, so a caller
    can report what was read before it stops."""


class LogSource:
    """Binary lines of a log, with the byte position for a progress bar."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path == "-":
            raw: BinaryIO = sys.stdin.buffer
            self.size: int | None = None
        else:
            file = Path(path)
            if not file.is_file():
                raise FileNotFoundError(f"log file not found: {path}")
            raw = file.open("rb")
            self.size = file.stat().st_size
        self._raw = raw
        buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        gzipped = buffered.peek(2)[:2] == GZIP_MAGIC
        self._stream: IO[bytes] | gzip.GzipFile = buffered
        if gzipped:
            self._stream = gzip.GzipFile(fileobj=buffered, mode="rb")

    def position(self) -> int:
        """Bytes of the (compressed) file consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[bytes]:
        """The lines as bytes, a leading UTF-8 BOM removed; damage ends them with SourceError."""
        lines = iter(self._stream)
        try:
            first = next(lines, None)
            if first is None:
                return
            yield first.removeprefix(UTF8_BOM)
            yield from lines
        except EOFError:
            raise SourceError(
                f"{self.path}: the gzip data ends early (a truncated file?)"
            ) from None
        except (OSError, zlib.error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SourceError(f"{self.path}: cannot read on: {reason}") from None

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def __enter__(self) -> LogSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
