"""``holdwatch worker``: a Faust worker; start several and they share the partitions."""

from __future__ import annotations

import argparse

from streams.cli.common import add_policy_flags, duration_arg, policy_from_args
from streams.cli.files import check_port_free
from streams.errors import UsageError
from streams.kafka.settings import KafkaSettings, add_cli_arguments


def add_broker_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="Kafka bootstrap URL(s), kafka://host:port[,kafka://host:port] "
        "(default: env HOLDWATCH_KAFKA_BROKERS, else kafka://127.0.0.1:9092)",
    )
    add_cli_arguments(parser)


def kafka_settings(args: argparse.Namespace) -> KafkaSettings:
    if getattr(args, "broker", None):
        args.kafka_brokers = args.broker
    try:
        return KafkaSettings.from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="run a Faust worker (start several to share partitions)",
        description="Run a Faust worker: validate input messages, apply the rules per booking, "
        "write alerts and dead letters. Several workers share the partitions.",
    )
    add_broker_flags(parser)
    add_policy_flags(parser)
    parser.add_argument(
        "--clock",
        choices=("wall", "event"),
        default="wall",
        help="wall (default): live monitoring, deadlines fire by the wall clock with no further "
        "events; event: replay of recorded logs, time advances only with the log",
    )
    parser.add_argument(
        "--store",
        default="rocksdb",
        choices=("rocksdb", "memory"),
        help="case table store (default rocksdb; the changelog topic is the source of truth)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where RocksDB keeps its files: DIR/worker-N, the first slot no other running "
        "worker holds, so replicas may share one volume (default: under TMPDIR)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=9108,
        metavar="PORT",
        help="/metrics port (default 9108; 0 disables)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="/metrics address (default 127.0.0.1, this host only; 0.0.0.0 inside a container "
        "network that Prometheus scrapes)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up (one line, exit 2) when the broker is unreachable this long at start "
        "(default: wait, saying so every 10 s)",
    )
    parser.add_argument(
        "--live-lateness",
        type=duration_arg,
        default=250_000,
        metavar="DUR",
        help="live mode: the watermark trails the wall clock by this much (default 250ms)",
    )
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="write changed cases to the changelog and commit offsets this often (default 5); "
        "alerts go out at once regardless, a crash re-processes at most this much",
    )
    parser.add_argument(
        "--session-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="consumer-group session timeout (default 10; Apache Kafka accepts 6 to 1800 by "
        "default): a crashed worker's partitions move to the others after this long",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="consumer-group heartbeat (default 3; below a third of --session-timeout)",
    )
    parser.add_argument(
        "--fetch-max-wait",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how long a fetch waits on an idle partition (default 0.5, Apache Kafka's own): "
        "the embedded broker answers only after it, so it bounds live alerts' latency there",
    )
    parser.add_argument(
        "--no-changelog-sync",
        dest="changelog_sync",
        action="store_false",
        help="do not end each checkpoint's changelog writes with a sync tombstone: safe on "
        "Apache Kafka (exact latest offsets), needed on the embedded Tansu broker",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=("debug", "info", "warning", "error")
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.checkpoint_interval > 0:
        raise UsageError("--checkpoint-interval must be a positive number of seconds")
    if not 0 < args.heartbeat_interval < args.session_timeout:
        raise UsageError(
            "--heartbeat-interval must be positive and below --session-timeout "
            f"({args.heartbeat_interval:g} s, {args.session_timeout:g} s)"
        )
    if not 0 < args.fetch_max_wait <= 10:
        raise UsageError(
            f"--fetch-max-wait must be above 0 and at most 10 s ({args.fetch_max_wait:g})"
        )
    if args.connect_timeout is not None and not args.connect_timeout >= 0:
        raise UsageError("--connect-timeout must be a number of seconds >= 0")
    if args.metrics_port:  # taken: one line now, not a traceback after connecting
        check_port_free(args.metrics_host, args.metrics_port)
    from streams.streaming.app import WorkerConfig
    from streams.streaming.run import run_in_process

    data_dir = args.data_dir
    if data_dir and args.store == "rocksdb":
        from pathlib import Path

        from streams.streaming.datadir import NoFreeSlot, claim

        try:  # the lock is held until this process exits
            slot, _lock = claim(Path(data_dir))
        except (NoFreeSlot, OSError) as exc:
            raise UsageError(f"--data-dir {data_dir}: {exc}") from None
        data_dir = str(slot)

    config = WorkerConfig(
        kafka=kafka_settings(args),
        policy=policy_from_args(args),
        clock=args.clock,
        store="rocksdb://" if args.store == "rocksdb" else "memory://",
        data_dir=data_dir,
        live_lateness_us=args.live_lateness,
        checkpoint_interval=args.checkpoint_interval,
        session_timeout=args.session_timeout,
        changelog_sync=args.changelog_sync,
        heartbeat_interval=args.heartbeat_interval,
        fetch_max_wait=args.fetch_max_wait,
    )
    run_in_process(
        config,
        metrics_port=args.metrics_port or None,
        metrics_host=args.metrics_host,
        loglevel=args.log_level,
        connect_timeout=args.connect_timeout,
    )
    return 0
