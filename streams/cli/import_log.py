"""``holdwatch import``: convert a jail booking export into a recorded event log.

(The module is ``import_log`` because ``import`` is a Python keyword.) The log goes to stdout or
``--out``; the summary (counts, adjustments, unmappable rows by reason, rules the source cannot
observe) always goes to stderr. Unmappable rows do not change the exit code: only an unusable
invocation (unknown format, unreadable file, not an export of that format) exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streams.contract.vocabulary import BOUNDS, FORMS
from streams.errors import UsageError
from streams.importers import MAPPINGS
from streams.importers.convert import DEFAULT_FORM, convert
from streams.importers.reader import ExportFormatError, read_records
from streams.importers.writer import write_log


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    formats = ", ".join(sorted(MAPPINGS))
    p = sub.add_parser(
        "import",
        help="convert a jail booking export into a recorded event log",
        description="Convert a jail booking export (plain or gzip) into a recorded event log "
        "(JSON Lines in the event contract, sorted by event time) for `holdwatch replay`. "
        "A summary with counts and unmappable rows goes to stderr. "
        f"Known formats: {formats}.",
    )
    p.add_argument(
        "--format",
        required=True,
        metavar="NAME",
        dest="export_format",
        help=f"export format ({formats})",
    )
    p.add_argument("file", metavar="FILE", type=Path, help="the export (may be gzip)")
    p.add_argument(
        "--form",
        choices=FORMS,
        default=DEFAULT_FORM,
        help="detainer form recorded on every issued detainer (the exports do not say; "
        f"it decides the hold-limit definition; default {DEFAULT_FORM})",
    )
    p.add_argument(
        "--bound",
        choices=BOUNDS,
        default=None,
        help="for exports with dates only (travis-county): resolve each date so the hold is as "
        "short (lower: an exceeded limit is certain) or as long (upper: only possible) as the "
        "data allows; default lower",
    )
    p.add_argument(
        "--out",
        metavar="LOG",
        type=Path,
        default=None,
        help="write the log here instead of stdout; a name ending in .gz is gzipped",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    mapping = MAPPINGS.get(args.export_format)
    if mapping is None:
        raise UsageError(
            f"unknown format {args.export_format!r} (known: {', '.join(sorted(MAPPINGS))})"
        )
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    out: Path | None = args.out
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    bound = args.bound
    if mapping.precision == "day":
        bound = bound or "lower"
    elif bound is not None:
        raise UsageError(f"--bound: {mapping.name} records exact times, not dates")
    try:
        records = read_records(path, mapping.delimiter, mapping.required_columns)
        conversion = convert(records, mapping, args.form, bound)
    except ExportFormatError as exc:
        raise UsageError(f"{path} is not a {mapping.name} export: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        write_log(conversion.events, out)
    except OSError as exc:
        raise UsageError(f"cannot write {out or 'stdout'}: {exc.strerror or exc}") from exc
    for line in conversion.summary.lines():
        print(line, file=sys.stderr)
    return 0
