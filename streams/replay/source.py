"""Open a recorded log: a path (plain or gzip, detected by content) or ``-`` for stdin."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


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
        self._stream: IO[bytes] = buffered
        if gzipped:
            self._stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]

    def position(self) -> int:
        """Bytes of the (compressed) file consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def __enter__(self) -> LogSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
