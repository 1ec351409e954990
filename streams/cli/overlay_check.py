"""``holdwatch overlay-check FILE``: a local-policy overlay against a jail's real decisions.

Reads the Travis County February 2017 policy-change reports (which detainers the jail kept or
dropped on the day its new policy took effect) and compares them with the ``TX-Travis`` overlay of
the policy (see :mod:`streams.report.overlay_check`): a confusion table with every disagreement,
and the same for the published list of offences matched on the charge text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.cli.common import add_policy_flags, policy_from_args
from streams.errors import UsageError
from streams.importers.reader import ExportFormatError
from streams.report.overlay_check import OverlayCheck, check, read_decisions

JURISDICTION = "TX-Travis"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "overlay-check",
        help="compare a local-policy overlay with a jail's real keep/drop decisions",
        description="Read the Travis County Feb 2017 policy-change reports (pipe-delimited, "
        "plain or gzip) and compare the jail's kept/dropped detainers with the TX-Travis "
        "local-policy overlay: confusion table and disagreements.",
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="travis_policy_change_2017-02")
    add_policy_flags(parser)
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the result as JSON")
    parser.set_defaults(run=run)


def _table(title: str, result: OverlayCheck, says: dict[str, bool]) -> Table:
    counts = result.confusion(says)
    table = Table(title=title, box=box.SIMPLE)
    table.add_column("jail \\ rule")
    table.add_column("honoured", justify="right")
    table.add_column("declined", justify="right")
    for jail in ("kept", "dropped"):
        table.add_row(jail, str(counts[f"{jail}/honoured"]), str(counts[f"{jail}/declined"]))
    return table


def run(args: argparse.Namespace) -> int:
    policy = policy_from_args(args)
    place = policy.jurisdictions.get(JURISDICTION)
    if place is None or place.local_policy is None:
        raise UsageError(f"the policy has no local_policy for {JURISDICTION}")
    if not args.file.is_file():
        raise UsageError(f"no such file: {args.file}")
    if args.json is not None and not args.json.parent.is_dir():
        raise UsageError(f"--json: directory does not exist: {args.json.parent}")
    try:
        decisions, problems = read_decisions(args.file)
    except ExportFormatError as exc:
        raise UsageError(f"{args.file} is not the policy-change extract: {exc}") from None
    result = check(decisions, place.local_policy)
    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 120)
    console.print(f"{len(decisions)} bookings; overlay: {result.overlay}")
    for title, says in (
        ("overlay (honor_when) vs the jail", result.overlay_says),
        ("published list of offences (charge text) vs the jail", result.published_says),
    ):
        console.print(_table(title, result, says))
        agreement = result.agreement(says)
        if agreement is not None:
            console.print(f"  agreement: {agreement:.1%}; disagreements:")
        for d in result.disagreements(says):
            charges = "; ".join(f"{c.code} [{c.severity}/{c.category}]" for c in d.charges)
            line = f"    {d.booking_key} {d.jail:<7} {d.report}: {charges or '(no charge)'}"
            console.print(escape(line))
    for problem in problems:
        console.print(escape(problem), style="red")
    if args.json is not None:
        document = result.to_json() | {"problems": problems}
        args.json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return 0
