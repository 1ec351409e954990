"""``holdwatch topics create``: every topic, with the configured partition count, before use."""

from __future__ import annotations

import argparse

from streams.cli.common import policy_from_args
from streams.cli.worker import add_broker_flags, kafka_settings
from streams.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "topics",
        help="create the Kafka topics (idempotent)",
        description="Create the input, output and changelog topics with the configured partition "
        "count. Existing topics are accepted; a different partition count is an error.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create missing topics")
    add_broker_flags(create)
    create.set_defaults(run=run, policy=None, allowed_lateness=None)


def run(args: argparse.Namespace) -> int:
    from streams.kafka.topics import TopicMismatchError
    from streams.streaming.app import WorkerConfig
    from streams.streaming.run import create_topics

    settings = kafka_settings(args)
    try:
        counts = create_topics(WorkerConfig(settings, policy_from_args(args)))
    except TopicMismatchError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:  # kafka-python: NoBrokersAvailable and friends
        raise UsageError(f"cannot create topics on {','.join(settings.brokers)}: {exc}") from None
    for topic, partitions in sorted(counts.items()):
        print(f"{topic}\t{partitions} partitions")
    return 0
