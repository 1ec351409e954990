"""JSON Lines outputs (alerts, dead letters): a path, ``.gz`` for gzip, or ``-`` for stdout."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import IO, Any

import orjson


class SinkError(Exception):
    """An output could not be written (a full disk, ``/dev/full``, a closed pipe): one line.

    Not an OSError, so that a caller can tell a failing output from a failing input."""


class JsonLinesWriter:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.count = 0
        self.failed = False
        self._file: IO[bytes] | gzip.GzipFile | None
        if path is None:
            self._file = None
        elif path == "-":
            self._file = sys.stdout.buffer
        else:
            target = Path(path)
            if target.parent and not target.parent.is_dir():
                raise FileNotFoundError(f"directory does not exist: {target.parent}")
            # A long-lived writer: closed by ``close()``, not by a with-block.
            self._file = gzip.open(target, "wb") if path.endswith(".gz") else target.open("wb")  # noqa: SIM115

    @property
    def name(self) -> str:
        return "stdout" if self.path == "-" else str(self.path)

    def write(self, record: dict[str, Any]) -> None:
        self.count += 1
        if self._file is not None:
            try:
                self._file.write(orjson.dumps(record) + b"\n")
            except OSError as exc:
                self.failed = True
                raise SinkError(f"cannot write {self.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Flush and close (a gzip gets its trailer). After a failed write, close quietly."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            if file is sys.stdout.buffer:
                file.flush()
            else:
                file.close()
        except OSError as exc:
            if not self.failed:
                self.failed = True
                raise SinkError(f"cannot write {self.name}: {exc.strerror or exc}") from None
