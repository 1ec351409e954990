"""``holdwatch replay``: run the rules over a recorded log and write the alerts."""

from __future__ import annotations

import argparse
import itertools
import sys
from contextlib import ExitStack

from streams.cli.common import add_policy_flags, byte_progress, policy_from_args, timestamp_arg
from streams.cli.files import (
    Interrupted,
    SignalGuard,
    every_line_dead,
    open_for_writing,
    refuse_clobbering,
    serve_metrics,
    write_summary,
)
from streams.errors import UsageError
from streams.replay.runner import InProcessReplay
from streams.replay.sinks import JsonLinesWriter, SinkError
from streams.replay.source import LogSource, SourceError

CHUNK = 4096


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "replay",
        help="replay a recorded event log and write the alerts",
        description="Replay a recorded event log (JSON Lines, optionally gzip, or - for stdin) "
        "through the rules engine in event time. Alerts go to --alerts-out as JSON Lines; a "
        "summary goes to stderr. Bad events never stop the replay: each becomes a dead letter.",
    )
    parser.add_argument("log", metavar="LOG", help="recorded log: .jsonl, .jsonl.gz, or - (stdin)")
    parser.add_argument(
        "--until",
        metavar="TS",
        type=timestamp_arg,
        help="after the last event, move event time to TS so deadlines up to TS fire "
        "(default: the last event time)",
    )
    add_policy_flags(parser)
    parser.add_argument(
        "--alerts-out", metavar="FILE", default="-", help="alerts JSON Lines (default: stdout)"
    )
    parser.add_argument(
        "--dead-letters",
        metavar="FILE",
        help="write each rejected line with its line number, reason and original text",
    )
    parser.add_argument("--summary-json", metavar="FILE", help="also write the summary as JSON")
    kafka = parser.add_argument_group("Kafka replay (the production path)")
    kafka.add_argument(
        "--kafka",
        action="store_true",
        help="produce the log to Kafka and read the alerts back from the workers; without "
        "--broker an embedded broker and one worker are started and stopped",
    )
    kafka.add_argument(
        "--broker",
        metavar="URL",
        help="Kafka bootstrap URL, kafka://host:port; workers must run with --clock event",
    )
    kafka.add_argument(
        "--speed",
        default="max",
        type=speed_arg,
        metavar="max|1x|60x",
        help="event time per wall time: max (default) or a factor such as 1x, 60x, 3600x",
    )
    kafka.add_argument(
        "--partitions", type=int, metavar="N", help="partitions per topic (default 8)"
    )
    kafka.add_argument(
        "--topic-prefix", metavar="PREFIX", help="topic name prefix (default holdwatch.)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on this port while the replay runs (in-process replays)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address for --metrics-port (default 127.0.0.1, this host only)",
    )
    parser.set_defaults(run=run)


def speed_arg(text: str) -> float | None:
    if text == "max":
        return None
    try:
        factor = float(text.rstrip("x"))
    except ValueError:
        factor = 0.0
    if factor <= 0:
        raise argparse.ArgumentTypeError(f"bad speed {text!r}: use max or a factor such as 1x, 60x")
    return factor


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success; 1 when every line of a non-empty log was a dead letter (not a log of
    UTF-8 JSON Lines, most likely); 2 for an unusable invocation or an unreadable input or
    unwritable output (one line); 128 + the signal number when stopped by SIGTERM/SIGINT."""
    if args.kafka:
        from streams.cli.replay_kafka import run_kafka

        return run_kafka(args)
    if args.broker or args.speed is not None:
        raise UsageError("--broker and --speed apply to --kafka replays only")
    policy = policy_from_args(args)
    refuse_clobbering(args.log, output_flags(args))
    publisher = None
    if args.metrics_port:
        from streams.observability.metrics import ReplayPublisher, WorkerMetrics

        metrics = WorkerMetrics.create(policy)
        serve_metrics(metrics.serve, args.metrics_host, args.metrics_port)
        publisher = ReplayPublisher(metrics)
    with ExitStack() as stack:
        try:
            source = stack.enter_context(LogSource(args.log))
            summary_file = (
                stack.enter_context(open_for_writing(args.summary_json, "--summary-json"))
                if args.summary_json
                else None
            )
            dead = JsonLinesWriter(args.dead_letters)
            stack.callback(dead.close)  # quiet after a failure; else closed below
            alerts = JsonLinesWriter(args.alerts_out)
            stack.callback(alerts.close)
        except OSError as exc:
            raise UsageError(str(exc)) from None
        guard = SignalGuard()
        replay = InProcessReplay(
            policy,
            guard.guarded(alerts.write),
            guard.guarded(dead.write),
            on_evaluate=publisher.metrics.observe_share if publisher else None,
        )
        unreadable = None
        try:
            with guard:
                try:
                    with byte_progress("replaying", source.size) as progress:
                        lines = source.lines()
                        while chunk := list(itertools.islice(lines, CHUNK)):
                            replay.feed(chunk)
                            if publisher is not None:
                                publisher.publish(replay)
                            if progress is not None:
                                progress.update(progress.task_ids[0], completed=source.position())
                    summary = replay.finish(args.until)
                except SourceError as exc:
                    # Report what was read; --until is not applied to a log that stopped short.
                    unreadable = f"{exc}: the lines before it were replayed" + (
                        "" if args.quiet else " (summary above)"
                    )
                    summary = replay.finish(None)
                finally:
                    guard.hold()  # a signal now waits until both outputs are closed
                    close_all(alerts, dead)
        except SinkError as exc:
            raise UsageError(str(exc)) from None
        except Interrupted as exc:
            print(
                f"holdwatch replay: stopped by {exc} after {replay.summary.events_read} events; "
                "the outputs were closed and are complete up to there",
                file=sys.stderr,
            )
            return 128 + exc.signum
        if publisher is not None:
            publisher.publish(replay)
        if summary_file is not None:
            write_summary(summary_file, summary.to_dict(), args.summary_json)
    if not args.quiet:
        print(summary.render(), file=sys.stderr)
    if unreadable is not None:
        raise UsageError(unreadable)
    if summary.events_read and summary.dead_letter_total == summary.events_read:
        return every_line_dead(summary.events_read)
    return 0


def output_flags(args: argparse.Namespace) -> dict[str, str | None]:
    return {
        "--alerts-out": args.alerts_out,
        "--dead-letters": args.dead_letters,
        "--summary-json": args.summary_json,
    }


def close_all(*writers: JsonLinesWriter) -> None:
    """Close every writer, then raise the first failure (one output failing closes the rest)."""
    failure: SinkError | None = None
    for writer in writers:
        try:
            writer.close()
        except SinkError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
