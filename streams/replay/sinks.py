"""JSON Lines outputs (alerts, dead letters): a path, ``.gz`` for gzip, or ``-`` for stdout."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import IO, Any

import orjson


class JsonLinesWriter:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.count = 0
        self._file: IO[bytes] | None
        if path is None:
            self._file = None
        elif path == "-":
            self._file = sys.stdout.buffer
        else:
            target = Path(path)
            if target.parent and not target.parent.is_dir():
                raise FileNotFoundError(f"directory does not exist: {target.parent}")
            # A long-lived writer: closed by ``close()``, not by a with-block.
            self._file = gzip.open(target, "wb") if path.endswith(".gz") else target.open("wb")  # type: ignore[assignment]  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        self.count += 1
        if self._file is not None:
            self._file.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        if self._file is None:
            return
        if self._file is sys.stdout.buffer:
            self._file.flush()
        else:
            self._file.close()
