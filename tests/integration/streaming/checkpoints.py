"""Reading what a worker has checkpointed: changelog keys, committed offsets."""

from __future__ import annotations

import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.kafka.settings import KafkaSettings
from streams.policy.load import load_policy
from streams.streaming.app import WorkerConfig


def read_keys(settings: KafkaSettings, topic: str) -> dict[int, list[bytes | None]]:
    """Every record key of ``topic``, per partition, read to the end."""
    consumer = KafkaConsumer(bootstrap_servers=list(settings.brokers), auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
    records: dict[int, list[bytes | None]] = {p: [] for p in range(settings.partitions)}
    idle = 0
    while idle < 3:
        batch = consumer.poll(timeout_ms=1000)
        idle = 0 if batch else idle + 1
        for tp, got in batch.items():
            records[tp.partition].extend(r.key for r in got)
    consumer.close()
    return records


def committed_offsets(settings: KafkaSettings) -> dict[TopicPartition, int]:
    """The worker group's committed offset per input topic-partition (absent: none yet, or the
    group coordinator not ready yet, as on Apache Kafka before the group's first join)."""
    from kafka.errors import KafkaError

    group = WorkerConfig(settings, load_policy()).app_id
    admin = KafkaAdminClient(bootstrap_servers=list(settings.brokers))
    try:
        found = admin.list_group_offsets(group).get(group, {})
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return {}
    finally:
        admin.close()
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


def wait_until_checkpointed(settings: KafkaSettings, timeout: float) -> dict[TopicPartition, int]:
    """Wait until the worker group's committed offsets reach the end of every input partition;
    returns those still behind (empty on success). Ends are counted by reading, since Tansu's
    end offsets are wrong after multi-record batches."""
    group = WorkerConfig(settings, load_policy()).app_id
    ends = {
        TopicPartition(topic, p): len(keys)
        for topic in settings.topics.inputs
        for p, keys in read_keys(settings, topic).items()
    }
    admin = KafkaAdminClient(bootstrap_servers=list(settings.brokers))
    try:
        deadline = time.monotonic() + timeout
        while True:
            committed = admin.list_group_offsets(group).get(group, {})
            behind = {
                tp: end
                for tp, end in ends.items()
                if end and (tp not in committed or committed[tp].offset < end)
            }
            if not behind or time.monotonic() > deadline:
                return behind
            time.sleep(0.5)
    finally:
        admin.close()
