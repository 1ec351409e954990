"""``holdwatch generate``: write a synthetic recorded event log (JSON Lines)."""

from __future__ import annotations

import argparse
import gzip
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Protocol

from streams.errors import UsageError
from streams.generate import calibration as cal
from streams.generate.synthetic import SyntheticLog

_BATCH = 4096  # lines per write and per progress update


class _Sink(Protocol):
    def writelines(self, lines: Iterable[bytes], /) -> None: ...


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "generate",
        help="write a synthetic recorded event log calibrated to published figures",
        description="Write a synthetic recorded event log (JSON Lines, one booking, hit, "
        "detainer or release event a line) calibrated to the published Secure Communities "
        "figures, with the noise of a real log: out-of-order, late and duplicate events. The "
        "same arguments give the same bytes.",
    )
    p.add_argument("--bookings", required=True, metavar="N", help="number of bookings")
    p.add_argument("--seed", required=True, metavar="S", help="integer seed of every draw")
    p.add_argument(
        "--start",
        default=cal.DEFAULT_START.isoformat(),
        metavar="DATE",
        help="first arrival no earlier than this date (local midnight in every jurisdiction) "
        "or RFC 3339 date-time (default: %(default)s)",
    )
    p.add_argument(
        "--per-day",
        default=str(cal.DEFAULT_PER_DAY),
        metavar="R",
        help="mean bookings per day, Poisson arrivals (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file; a name ending in .gz is gzipped; - writes to stdout",
    )
    p.set_defaults(run=run)


def _parse_int(flag: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{flag} must be an integer, got {value!r}") from None
    if number < minimum:
        raise UsageError(f"{flag} must be >= {minimum}, got {number}")
    return number


def _parse_start(value: str) -> date | datetime:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--start must be a date (YYYY-MM-DD) or an RFC 3339 date-time, got {value!r}"
        ) from None


def _parse_per_day(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not (rate > 0 and math.isfinite(rate)):
        raise UsageError(f"--per-day must be a positive number, got {value!r}")
    return rate


@contextmanager
def _output(path: str) -> Iterator[_Sink]:
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        raw = open(path, "wb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    with raw:
        if path.endswith(".gz"):
            # No name and a zero mtime in the header: the same arguments give the same bytes.
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6
            ) as zipped:
                yield zipped
        else:
            yield raw


def run(args: argparse.Namespace) -> int:
    bookings = _parse_int("--bookings", args.bookings, 0)
    seed = _parse_int("--seed", args.seed, 0)
    start = _parse_start(args.start)
    per_day = _parse_per_day(args.per_day)
    try:
        log = SyntheticLog(bookings, seed, start, per_day)
    except (ValueError, OverflowError) as exc:
        raise UsageError(str(exc)) from None
    # Arrivals plus the longest stay must stay within the datetime range.
    span_days = bookings / per_day * 1.2 + 10 * math.sqrt(bookings + 1) / per_day + 400
    if log.start.year + span_days / 365.25 > 9000:
        raise UsageError("--start plus the bookings' span runs past the year 9000")

    started = time.perf_counter()
    try:
        with _output(args.out) as out:
            if sys.stderr.isatty() and bookings:
                _write_with_progress(log, out, bookings)
            else:
                _write(log, out)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): stop quietly, like other filters.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    elapsed = time.perf_counter() - started
    s = log.stats
    rate = f", {s.events / elapsed:,.0f} events/s" if elapsed > 0 else ""
    print(
        f"holdwatch generate: {s.bookings} bookings, {s.events} events ({s.hits} hits, "
        f"{s.detainers} detainers; noise: {s.duplicates} duplicates, {s.out_of_order} out of "
        f"order, {s.late} late, {s.early_events} early) -> {args.out} in {elapsed:.1f} s{rate}",
        file=sys.stderr,
    )
    return 0


def _no_progress() -> None:
    return None


def _write(log: SyntheticLog, out: _Sink, written: Callable[[], None] = _no_progress) -> None:
    """The log's lines in batches of ``_BATCH``; ``written`` is called after each full batch."""
    batch: list[bytes] = []
    for line in log:
        batch.append(line)
        if len(batch) >= _BATCH:
            out.writelines(batch)
            batch.clear()
            written()
    out.writelines(batch)


def _write_with_progress(log: SyntheticLog, out: _Sink, total: int) -> None:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("bookings"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("generate", total=total)
        _write(log, out, lambda: progress.update(task, completed=log.stats.bookings))
        progress.update(task, completed=total)
