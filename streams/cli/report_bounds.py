"""``holdwatch report-bounds LOWER UPPER``: a day-precision source's two bound logs, compared.

For an export with dates only, ``holdwatch import ... --bound lower`` and ``--bound upper`` give
the shortest and the longest hold the data allows. This reads both and says, per detainer form,
how many bookings were definitely over the limit, possibly over, and certainly within, listing the
definite cases (see :mod:`streams.report.bounds`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from streams.cli.common import add_policy_flags, policy_from_args
from streams.cli.files import refuse_clobbering
from streams.contract.vocabulary import FORMS
from streams.errors import UsageError
from streams.replay.source import LogSource, SourceError
from streams.report.bounds import build_bounds
from streams.report.render_bounds import (
    bounds_json,
    print_bounds,
    write_bounds_json,
    write_bounds_plot,
)

PIPE_WIDTH = 120


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "report-bounds",
        help="definitely / possibly / within the hold limit, from a dates-only source's two logs",
        description="Read the --bound lower and --bound upper logs of one import of a source with "
        "dates only (holdwatch import --format travis-county) and report, per detainer form, the "
        "bookings definitely over the hold limit (over on the lower log: the shortest hold the "
        "data allows), possibly over (over on the upper log only) and certainly within, with the "
        "list of definite cases.",
    )
    parser.add_argument("lower", metavar="LOWER", help="log imported with --bound lower")
    parser.add_argument("upper", metavar="UPPER", help="log imported with --bound upper")
    add_policy_flags(parser)
    parser.add_argument(
        "--form-override",
        choices=FORMS,
        metavar="FORM",
        help=f"only this form ({' or '.join(FORMS)}); default: each form in turn, every "
        "detainer read as it",
    )
    parser.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="REASON",
        help="also list the bookings whose release had this reason, with their class per form "
        "(e.g. ice_detainer_time_limit_reached); repeatable",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the counts as JSON")
    parser.add_argument(
        "--plot", metavar="FILE.png", type=Path, help="write a PNG chart (needs matplotlib)"
    )
    parser.add_argument(
        "--top", metavar="N", type=int, default=25, help="definite cases shown (default 25; 0: all)"
    )
    parser.set_defaults(run=run)


def _read(path: str) -> list[bytes]:
    try:
        with LogSource(path) as source:
            return list(source.lines())
    except (OSError, EOFError, SourceError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    for path, flag in ((args.json, "--json"), (args.plot, "--plot")):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"{flag}: directory does not exist: {path.parent}")
    outputs = {"--json": args.json, "--plot": args.plot}
    for log in (args.lower, args.upper):
        refuse_clobbering(log, {flag: str(p) if p else None for flag, p in outputs.items()})
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None
    policy = policy_from_args(args)
    forms = (args.form_override,) if args.form_override else tuple(policy.forms)
    report = build_bounds(_read(args.lower), _read(args.upper), policy, forms)
    console = Console(
        file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH
    )
    reasons = tuple(args.reason)
    print_bounds(report, console, args.top, reasons)
    try:
        if args.json is not None:
            write_bounds_json(bounds_json(report, args.lower, args.upper, reasons), args.json)
        if args.plot is not None:
            write_bounds_plot(report, args.plot)
    except OSError as exc:
        raise UsageError(f"cannot write: {exc}") from None
    return 0
