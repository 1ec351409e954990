"""Entry point of the ``holdwatch`` console script.

Every subcommand lives in its own module with ``register(subparsers)``, which adds its parser and
sets ``run`` (``args -> exit code``). Only :class:`UsageError` (and a bad flag, via argparse) make
the exit code non-zero: bad events never do.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streams import __version__
from streams.errors import UsageError
from streams.logging_setup import redact_person_ids

# Module names under streams.cli, in the order they appear in --help.
SUBCOMMANDS = (
    "demo",
    "replay",
    "generate",
    "import_log",
    "report",
    "report_bounds",
    "overlay_check",
    "worker",
    "health",
    "topics",
    "alerts",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="holdwatch",
        description="Watch immigration-detainer holds as they happen: replay recorded event "
        "logs in-process or through Kafka, run Faust workers, and get the same alerts every time.",
    )
    parser.add_argument("--version", action="version", version=f"holdwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"streams.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"streams.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before any library logs: no person_id in any log record, at any level.
    redact_person_ids()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"holdwatch {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
