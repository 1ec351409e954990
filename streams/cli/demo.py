"""``holdwatch demo``: the whole production path on one machine, in one command, no Docker.

An embedded Kafka-protocol broker, one Faust worker with its /metrics endpoint, and a replay of
the bundled sample log (3,000 bookings over seven months of 2011-12, with weekends and federal
holidays) printing each alert as the worker fires it, then a summary table that also checks the
result against the in-process engine. Ctrl-C stops everything and leaves no process behind.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Mapping
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.cli.common import policy_from_args
from streams.cli.files import check_port_free
from streams.cli.worker import add_broker_flags, kafka_settings
from streams.contract.vocabulary import AlertSeverity
from streams.engine.rules import RULES
from streams.errors import UsageError
from streams.kafka.settings import KafkaSettings
from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from streams.replay.source import LogSource

STYLE: dict[AlertSeverity, str] = {"critical": "bold red", "warning": "yellow"}


def sample_log() -> Path:
    return Path(str(resources.files("streams.data") / "sample.jsonl.gz"))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="run broker, worker and a replay of the bundled sample log (no Docker needed)",
        description="Start an embedded Kafka-protocol broker and one Faust worker, replay the "
        "bundled sample log through them, print alerts as they fire and a summary. Ctrl-C stops "
        "everything. With --broker, use that Kafka cluster instead of the embedded broker (the "
        "demo's worker and topics are its own: a fresh topic prefix).",
    )
    parser.add_argument(
        "--log", metavar="FILE", help="replay this log instead of the bundled sample"
    )
    parser.add_argument(
        "--speed", default=None, help="event time per wall time, e.g. 86400x (default: max)"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=9108,
        metavar="PORT",
        help="worker /metrics port (default 9108)",
    )
    parser.add_argument(
        "--policy", metavar="FILE", help="TOML policy replacing the shipped default"
    )
    parser.add_argument("--quiet-alerts", action="store_true", help="do not print each alert")
    add_broker_flags(parser)
    parser.set_defaults(run=run, allowed_lateness=None)


def _describe(alert: dict[str, Any]) -> str:
    details = alert["details"]
    extra = ""
    if alert["rule"] == "hold_limit_exceeded":
        extra = f" deadline {details['deadline']} ({details['form']})"
        if alert["state"] == "resolved":
            extra += f", {details['hours_over']} h over"
    return f"{alert['occurred_at']}  {alert['jurisdiction'] or '?':<19} {alert['rule']}{extra}"


def run(args: argparse.Namespace) -> int:
    from streams.cli.replay import speed_arg
    from streams.streaming.kafka_replay import KafkaReplay, ReplayTimeout
    from streams.streaming.session import kafka_session

    console = Console(highlight=False)
    policy = policy_from_args(args)
    log = Path(args.log) if args.log else sample_log()
    if not log.is_file():
        raise UsageError(f"log file not found: {log}")
    try:
        speed = speed_arg(args.speed) if args.speed else None
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None
    check_port_free("127.0.0.1", args.metrics_port)  # the worker's, checked before it starts
    worker_args = ["--metrics-port", str(args.metrics_port), "--metrics-host", "127.0.0.1"]
    if args.policy:
        worker_args += ["--policy", args.policy]

    def show(alert: dict[str, Any]) -> None:
        if args.quiet_alerts:
            return
        mark = "FIRING  " if alert["state"] == "firing" else "resolved"
        style = STYLE[alert["severity"]] if alert["state"] == "firing" else "green"
        console.print(f"[{style}]{mark}[/] {_describe(alert)}")

    received: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    console.print(f"[bold]Holdwatch demo[/]: replaying {log.name} through Kafka and a Faust worker")
    with ExitStack() as stack:
        embedded = not args.broker
        where = "the embedded broker" if embedded else args.broker
        with console.status(f"starting a worker on {where} ..."):
            settings = stack.enter_context(
                kafka_session(
                    kafka_settings(args) if args.broker else KafkaSettings(),
                    policy,
                    embedded,
                    worker_args,
                    own_worker=True,
                )
            )
        console.print(
            f"broker {settings.brokers[0]}, worker metrics http://127.0.0.1:{args.metrics_port}/metrics"
        )
        replay = KafkaReplay(settings, policy, speed)

        def on_alert(alert: dict[str, Any]) -> None:
            received.append(alert)
            show(alert)

        with LogSource(str(log)) as source:
            try:
                summary = replay.run(source.lines(), None, on_alert, dead.append)
            except ReplayTimeout as exc:
                raise UsageError(str(exc)) from None

    expected: list[dict[str, Any]] = []
    reference = InProcessReplay(policy, expected.append)
    with LogSource(str(log)) as source:
        lines = source.lines()
        while chunk := list(itertools.islice(lines, 4096)):
            reference.feed(chunk)
    reference.finish()

    console.print(
        rule_table(
            summary.alerts,
            policy,
            f"Alerts from {summary.lines:,} events in {summary.seconds:.1f} s",
        )
    )
    same = {a["alert_id"] + a["state"] for a in received} == {
        a["alert_id"] + a["state"] for a in expected
    }
    verdict = "[green]identical to[/]" if same else "[red]DIFFERENT from[/]"
    console.print(
        f"Kafka path alerts are {verdict} the in-process engine's ({len(expected)} alerts); dead letters: {len(dead)}"
    )
    return 0 if same else 1


def rule_table(alerts: Mapping[tuple[str, str], int], policy: Policy, title: str) -> Table:
    """Firing and resolved counts of every declared rule (``streams/engine/rules/``), in
    declaration order, with the policy's severity: a rule that did not fire shows 0 rather than
    being left out."""
    table = Table(title=title)
    table.add_column("rule")
    table.add_column("severity")
    table.add_column("firing", justify="right")
    table.add_column("resolved", justify="right")
    for name, rule in RULES.items():
        table.add_row(
            name,
            policy.rules.get(name, rule.info).severity,
            str(alerts.get((name, "firing"), 0)),
            str(alerts.get((name, "resolved"), 0)),
        )
    return table
