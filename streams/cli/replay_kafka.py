"""The ``--kafka`` branch of ``holdwatch replay`` (kept apart so the in-process path imports no Kafka)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from streams.cli.common import policy_from_args, stderr
from streams.cli.files import (
    Interrupted,
    SignalGuard,
    every_line_dead,
    open_for_writing,
    refuse_clobbering,
    write_summary,
)
from streams.cli.worker import kafka_settings
from streams.errors import UsageError
from streams.kafka.settings import KafkaSettings
from streams.policy.model import Policy
from streams.replay.sinks import JsonLinesWriter, SinkError
from streams.replay.source import LogSource, SourceError

if TYPE_CHECKING:
    from streams.streaming.control import ControlKey
    from streams.streaming.kafka_replay import KafkaReplaySummary


def run_kafka(args: argparse.Namespace) -> int:
    from streams.cli.replay import output_flags
    from streams.streaming import control

    policy = policy_from_args(args)
    settings = kafka_settings(args)
    signer = control.from_env()  # production without a control key: one line, before any broker
    refuse_clobbering(args.log, output_flags(args))
    try:
        source = LogSource(args.log)
        summary_file = (
            open_for_writing(args.summary_json, "--summary-json") if args.summary_json else None
        )
        alerts = JsonLinesWriter(args.alerts_out)
        dead = JsonLinesWriter(args.dead_letters)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    worker_args = ["--policy", args.policy] if args.policy else []
    guard = SignalGuard()
    try:
        summary = _run(args, policy, settings, source, alerts, dead, guard, worker_args, signer)
    except Interrupted as exc:
        print(
            f"holdwatch replay: stopped by {exc}; the broker session was stopped and the outputs "
            "closed, complete up to there",
            file=sys.stderr,
        )
        return 128 + exc.signum
    if summary_file is not None:
        payload: dict[str, Any] = {
            "lines": summary.lines,
            "produced": dict(summary.produced),
            "dead_letters": dict(summary.dead_letters),
            "alerts": {f"{r}/{s}": n for (r, s), n in sorted(summary.alerts.items())},
            "held": summary.held,
            "released": summary.released,
            "future": summary.dead_letters.get("future", 0),
        }
        write_summary(summary_file, payload, args.summary_json)
    if not args.quiet:
        print(summary.render(), file=sys.stderr)
    dead_total = sum(summary.dead_letters.values())
    if dead_total and not sum(summary.produced.values()):  # as the in-process replay: exit 1
        return every_line_dead(dead_total)
    return 0


def _run(
    args: argparse.Namespace,
    policy: Policy,
    settings: KafkaSettings,
    source: LogSource,
    alerts: JsonLinesWriter,
    dead: JsonLinesWriter,
    guard: SignalGuard,
    worker_args: list[str],
    signer: ControlKey,
) -> KafkaReplaySummary:
    """The replay inside the broker session; SIGTERM/SIGINT stop it, the session and the outputs
    in order (signals wait while a record is written and while everything is closed)."""
    from kafka.errors import KafkaError

    from streams.streaming.kafka_replay import KafkaReplay, ReplayTimeout
    from streams.streaming.session import kafka_session

    with guard, ExitStack() as stack:
        stack.callback(_close, dead)
        stack.callback(_close, alerts)
        stack.enter_context(source)
        if not args.broker:
            stderr.print("starting the embedded Kafka broker and one worker ...")
        settings = stack.enter_context(
            kafka_session(settings, policy, not args.broker, worker_args)
        )
        try:
            replay = KafkaReplay(settings, policy, args.speed, control=signer)
        except (ReplayTimeout, KafkaError) as exc:
            raise UsageError(f"{exc} (brokers: {','.join(settings.brokers)})") from None
        progress = None
        if sys.stderr.isatty():
            progress = stack.enter_context(
                Progress(
                    TextColumn("[bold]replaying to Kafka"),
                    BarColumn(),
                    TextColumn("{task.fields[events]} events, {task.fields[rate]} events/s"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=stderr,
                    transient=True,
                )
            )
            task = progress.add_task("replay", total=source.size, events=0, rate="-")

        def on_progress(events: int) -> None:
            if progress is not None:
                elapsed = progress.tasks[0].elapsed or 0.0
                rate = f"{events / elapsed:,.0f}" if elapsed > 0 else "-"
                progress.update(task, completed=source.position(), events=events, rate=rate)

        stack.callback(guard.hold)  # unwinding first of all: signals wait until all is closed
        try:
            return replay.run(
                source.lines(),
                args.until,
                guard.guarded(alerts.write),
                guard.guarded(dead.write),
                on_progress,
            )
        except (ReplayTimeout, KafkaError) as exc:
            raise UsageError(f"{exc} (brokers: {','.join(settings.brokers)})") from None
        except (SourceError, SinkError) as exc:
            raise UsageError(str(exc)) from None


def _close(writer: JsonLinesWriter) -> None:
    """Close an output; a failure to write its end is the one-line error of the run."""
    try:
        writer.close()
    except SinkError as exc:
        raise UsageError(str(exc)) from None
