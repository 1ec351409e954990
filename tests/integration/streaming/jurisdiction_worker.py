"""A ``holdwatch worker --clock event`` with a policy file (the worker wires the jurisdiction agent
itself). Usage: python -m ... BROKER PREFIX PARTITIONS POLICY_FILE"""

from __future__ import annotations

import sys
from dataclasses import replace


def main() -> None:
    import faust

    from streams.kafka.settings import KafkaSettings
    from streams.policy.load import load_policy
    from streams.streaming.app import Worker, WorkerConfig
    from streams.streaming.run import create_topics

    broker, prefix, partitions, policy_file = sys.argv[1:5]
    sys.argv = sys.argv[:1]
    settings = replace(
        KafkaSettings(), brokers=(broker,), topic_prefix=prefix, partitions=int(partitions)
    )
    config = WorkerConfig(settings, load_policy(policy_file), clock="event", store="memory://")
    create_topics(config)
    worker = Worker(config)
    faust.Worker(worker.app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
