"""Read a delimited export, plain or gzip, into rows keyed by header name.

Gzip is recognised by its magic bytes, not the file name: public-records releases get renamed.
Nothing is dropped here: a row whose field count differs from the header's is still yielded,
with ``problem`` set, so the conversion can report it.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"


class ExportFormatError(ValueError):
    """The file as a whole is not an export of the expected format (one line for the user)."""


@dataclass(frozen=True)
class Record:
    """One data row: ``line`` is its 1-based line number in the (decompressed) file."""

    line: int
    row: dict[str, str]
    problem: str | None = None


def open_text(path: Path) -> IO[str]:
    """Open ``path`` for reading text, decompressing gzip transparently (UTF-8, BOM ignored)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def read_records(path: Path, delimiter: str, required_columns: Sequence[str]) -> Iterator[Record]:
    """Yield every non-blank data row of ``path``.

    Raises :class:`ExportFormatError` when the file is empty, lacks a required column, is not
    UTF-8 or is a corrupt gzip stream: then no row can be trusted.
    """
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if header is None:
                raise ExportFormatError("file is empty (no header line)")
            header = [name.strip() for name in header]
            missing = [name for name in required_columns if name not in header]
            if missing:
                raise ExportFormatError(
                    f"header lacks column(s) {', '.join(missing)} "
                    f"(is the delimiter {delimiter!r} right?)"
                )
            for fields in reader:
                if not fields or fields == [""]:
                    continue
                row = dict(zip(header, fields, strict=False))
                problem = None
                if len(fields) != len(header):
                    problem = f"{len(fields)} fields, header has {len(header)}"
                    for name in header[len(fields) :]:
                        row[name] = ""
                yield Record(line=reader.line_num, row=row, problem=problem)
    except UnicodeDecodeError as exc:
        raise ExportFormatError(f"not UTF-8 text: {exc.reason}") from exc
    except (gzip.BadGzipFile, EOFError) as exc:
        raise ExportFormatError(f"corrupt gzip data: {exc}") from exc
    except csv.Error as exc:
        raise ExportFormatError(f"unreadable delimited text: {exc}") from exc
