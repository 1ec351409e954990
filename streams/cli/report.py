"""``holdwatch report``: a readable summary of detainer holds in a recorded log.

Per booking with a detainer and an eligibility time: hours held beyond eligibility, the
hold-limit deadline under its form and whether (and by how much) it was exceeded; totals, the
distribution, the median jail stay; how many holds exceeded the limit under each form. "Exceeded"
is decided by an in-process replay of the same log (its ``hold_limit_exceeded`` alerts).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from rich.console import Console

from streams.cli.common import add_policy_flags, byte_progress, policy_from_args, timestamp_arg
from streams.cli.files import refuse_clobbering
from streams.contract.vocabulary import FORMS
from streams.errors import UsageError
from streams.replay.source import LogSource, SourceError
from streams.report.holds import HoldReport, ReportBuilder
from streams.report.render import print_report, write_csv, write_json

CHUNK = 4096
PIPE_WIDTH = 120  # rich's width when stdout is not a terminal (its default, 80, wraps the table)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "report",
        help="summarize detainer holds in a recorded log (hours beyond eligibility, exceeded)",
        description="Read a recorded event log (JSON Lines, optionally gzip, or - for stdin) and "
        "print, per booking with a detainer and an eligibility time, the hours held beyond "
        "eligibility, the hold-limit deadline under its form and whether it was exceeded; "
        "totals, a distribution, the median jail stay and the exceeded count under each form. "
        "Exceeded is what `holdwatch replay` alerts (hold_limit_exceeded) with the same policy.",
    )
    parser.add_argument("log", metavar="LOG", help="recorded log: .jsonl, .jsonl.gz, or - (stdin)")
    parser.add_argument(
        "--until",
        metavar="TS",
        type=timestamp_arg,
        help="report as of TS after the last event: holds still open count up to TS "
        "(default: the last event time)",
    )
    add_policy_flags(parser)
    parser.add_argument(
        "--form-override",
        choices=FORMS,
        metavar="FORM",
        help=f"read every detainer as this form ({' or '.join(FORMS)}), whatever the log says",
    )
    parser.add_argument(
        "--csv", metavar="FILE", type=Path, help="write one row per booking with a detainer"
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the totals as JSON")
    parser.add_argument(
        "--plot", metavar="FILE.png", type=Path, help="write a PNG chart (needs matplotlib)"
    )
    parser.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=25,
        help="booking rows shown, longest beyond eligibility first (default 25; 0: all)",
    )
    parser.set_defaults(run=run)


def outputs(args: argparse.Namespace) -> dict[str, Path | None]:
    return {"--csv": args.csv, "--json": args.json, "--plot": args.plot}


def _check_out(path: Path | None, flag: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"{flag}: directory does not exist: {path.parent}")


def build(args: argparse.Namespace) -> HoldReport:
    policy = policy_from_args(args)
    try:
        source = LogSource(args.log)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    builder = ReportBuilder(policy, args.form_override)
    try:
        with source, byte_progress("reading", source.size) as progress:
            lines = source.lines()
            while chunk := list(itertools.islice(lines, CHUNK)):
                builder.feed(chunk)
                if progress is not None:
                    progress.update(progress.task_ids[0], completed=source.position())
    except SourceError as exc:  # a report of part of a log would mislead: no report
        raise UsageError(str(exc)) from None
    return builder.finish(args.until)


def run(args: argparse.Namespace) -> int:
    for path, flag in ((args.csv, "--csv"), (args.json, "--json"), (args.plot, "--plot")):
        _check_out(path, flag)
    refuse_clobbering(
        args.log,
        {flag: str(path) if path else None for flag, path in outputs(args).items()},
    )
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None
    try:
        report = build(args)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {args.log}: {exc}") from None
    console = Console(
        file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH
    )
    print_report(report, args.log, console, args.top)
    try:
        if args.csv is not None:
            with args.csv.open("w", encoding="utf-8", newline="") as out:
                write_csv(report, out)
        if args.json is not None:
            write_json(report, args.log, args.json)
        if args.plot is not None:
            from streams.report.plot import write_plot

            write_plot(report, args.plot, title=f"Holdwatch hold report: {Path(args.log).name}")
    except OSError as exc:
        raise UsageError(f"cannot write: {exc}") from None
    return 0
