"""Kafka plumbing for Holdwatch: embedded broker, topic layout, connection settings.

Kept import-light (no faust/aiokafka at import time) so the CLI starts fast;
heavy clients are imported inside the functions that need them.
"""

from streams.kafka.broker import BrokerStartError, EmbeddedBroker
from streams.kafka.settings import KafkaSettings, add_cli_arguments, parse_brokers
from streams.kafka.topics import (
    TYPE_TO_TOPIC,
    TopicMismatchError,
    TopicNames,
    ensure_topics,
)

__all__ = [
    "TYPE_TO_TOPIC",
    "BrokerStartError",
    "EmbeddedBroker",
    "KafkaSettings",
    "TopicMismatchError",
    "TopicNames",
    "add_cli_arguments",
    "ensure_topics",
    "parse_brokers",
]
