"""The ``--kafka`` branch of ``holdwatch replay`` (kept apart so the in-process path imports no Kafka)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from streams.cli.common import policy_from_args, stderr
from streams.cli.errors import UsageError
from streams.cli.worker import kafka_settings
from streams.replay.sinks import JsonLinesWriter
from streams.replay.source import LogSource


def run_kafka(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from streams.streaming import control
    from streams.streaming.replay import KafkaReplay, ReplayTimeout
    from streams.streaming.session import kafka_session

    policy = policy_from_args(args)
    settings = kafka_settings(args)
    signer = control.from_env()  # production without a control key: one line, before any broker
    try:
        source = LogSource(args.log)
        alerts = JsonLinesWriter(args.alerts_out)
        dead = JsonLinesWriter(args.dead_letters)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    worker_args = ["--policy", args.policy] if args.policy else []
    with ExitStack() as stack:
        stack.callback(dead.close)
        stack.callback(alerts.close)
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

        try:
            summary = replay.run(source.lines(), args.until, alerts.write, dead.write, on_progress)
        except (ReplayTimeout, KafkaError) as exc:
            raise UsageError(f"{exc} (brokers: {','.join(settings.brokers)})") from None
    if args.summary_json:
        payload: dict[str, Any] = {
            "lines": summary.lines,
            "produced": dict(summary.produced),
            "dead_letters": dict(summary.dead_letters),
            "alerts": {f"{r}/{s}": n for (r, s), n in sorted(summary.alerts.items())},
            "held": summary.held,
            "released": summary.released,
            "future": summary.dead_letters.get("future", 0),
        }
        Path(args.summary_json).write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    if not args.quiet:
        print(summary.render(), file=sys.stderr)
    return 0
