"""Flag parsing shared by subcommands: timestamps, durations, the policy, progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from streams.contract import timestamps
from streams.errors import UsageError
from streams.policy.durations import parse_duration
from streams.policy.load import PolicyError, load_policy
from streams.policy.model import Policy


def timestamp_arg(text: str) -> int:
    try:
        return timestamps.parse(text)
    except timestamps.BadTimestamp as exc:
        raise argparse.ArgumentTypeError(f"{exc} (e.g. 2011-10-06T10:00:00-04:00)") from None


def duration_arg(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="TOML policy replacing the shipped default (see streams/policy/default.toml)",
    )
    parser.add_argument(
        "--allowed-lateness",
        metavar="DUR",
        type=duration_arg,
        help="override the policy's allowed lateness, e.g. 10m (the watermark trails the "
        "newest event time by this much)",
    )


def policy_from_args(args: argparse.Namespace) -> Policy:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "allowed_lateness", None) is not None:
        from dataclasses import replace

        policy = replace(policy, allowed_lateness=args.allowed_lateness)
    return policy


stderr = Console(stderr=True, highlight=False)


@contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Progress | None]:
    """A progress bar over bytes on stderr, only when a person is watching (a TTY)."""
    if not sys.stderr.isatty():
        yield None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    with progress:
        progress.add_task(description, total=total)
        yield progress
