"""Holdwatch topic names and idempotent topic creation.

All names derive from one prefix (default ``holdwatch.``) so several
deployments/tests can share a broker.  Topics must be created *before* any
client touches them: Tansu (and Kafka with ``auto.create.topics.enable``)
auto-creates a topic named in a producer/consumer Metadata request with a
default partition count (4 on Tansu), which would silently break the
co-partitioning of the four input topics (ticks and barriers travel in-band, as
headers on those same topics: there is no ticks topic).

Creation uses kafka-python's admin client; listing uses an *all topics*
Metadata request so we never name a missing topic in a probe.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.contract.vocabulary import EVENT_TYPES

__all__ = [
    "DEFAULT_PARTITIONS",
    "DEFAULT_PREFIX",
    "INPUT_TOPICS",
    "OUTPUT_TOPICS",
    "TYPE_TO_TOPIC",
    "TopicMismatchError",
    "TopicNames",
    "ensure_topics",
]

DEFAULT_PREFIX = "holdwatch."
DEFAULT_PARTITIONS = 8

#: Event ``type`` field -> base topic name (prefix with :meth:`TopicNames.for_type`): one topic
#: per event type of the contract, named by its plural. The inputs are co-partitioned: same
#: partition count and the same key (the booking id), so one worker's partition holds all of a
#: booking's events and the ticks and barriers written into that partition of each topic.
TYPE_TO_TOPIC: Mapping[str, str] = {kind: f"{kind}s" for kind in EVENT_TYPES}
INPUT_TOPICS: tuple[str, ...] = tuple(TYPE_TO_TOPIC.values())
OUTPUT_TOPICS: tuple[str, ...] = ("alerts", "dead-letters")


class TopicMismatchError(RuntimeError):
    """An existing topic's partition count differs from the configured one."""


@dataclass(frozen=True)
class TopicNames:
    """Fully qualified topic names for one prefix."""

    prefix: str = DEFAULT_PREFIX

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def bookings(self) -> str:
        return self.name("bookings")

    @property
    def hits(self) -> str:
        return self.name("hits")

    @property
    def detainers(self) -> str:
        return self.name("detainers")

    @property
    def releases(self) -> str:
        return self.name("releases")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def dead_letters(self) -> str:
        return self.name("dead-letters")

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in INPUT_TOPICS)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in OUTPUT_TOPICS)

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.inputs, *self.outputs)

    def for_type(self, event_type: str) -> str:
        """Topic for an event type (``booking`` -> ``holdwatch.bookings``)."""
        try:
            return self.name(TYPE_TO_TOPIC[event_type])
        except KeyError:
            raise KeyError(
                f"unknown event type {event_type!r}; expected one of {sorted(TYPE_TO_TOPIC)}"
            ) from None


def ensure_topics(
    admin_kwargs: Mapping[str, Any],
    topics: Iterable[str] | None = None,
    *,
    prefix: str = DEFAULT_PREFIX,
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout_ms: int = 10_000,
) -> dict[str, int]:
    """Create *topics* (default: all Holdwatch topics for *prefix*) if missing.

    Idempotent: existing topics with the right partition count are accepted;
    one with a different count raises :class:`TopicMismatchError` (we never
    alter partition counts -- that would re-shuffle keys across workers).
    ``admin_kwargs`` are kafka-python client kwargs, e.g. from
    ``KafkaSettings.kafka_python_kwargs()`` or ``{"bootstrap_servers": ...}``.
    Returns ``{topic: partition_count}`` for the requested topics.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    wanted = list(dict.fromkeys(topics if topics is not None else TopicNames(prefix).all))
    admin = KafkaAdminClient(**dict(admin_kwargs))
    try:
        existing = _partition_counts(admin)
        missing = [t for t in wanted if t not in existing]
        if missing:
            spec = {
                t: {
                    "num_partitions": partitions,
                    "replication_factor": replication_factor,
                    "configs": dict(config or {}),
                }
                for t in missing
            }
            result = admin.create_topics(spec, timeout_ms=timeout_ms, raise_errors=False)
            for entry in result["topics"]:
                code = entry["error_code"]
                # 36 = TOPIC_ALREADY_EXISTS: lost a race with another creator; verified below.
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(
                        f"creating topic {entry['name']!r} failed: error {code} "
                        f"{entry.get('error_message')}"
                    )
            existing = _partition_counts(admin)
            # Created is not yet visible: a broker serves metadata from a cache the controller
            # updates after it answered (seen on Apache Kafka under load). Wait for it, bounded.
            deadline = time.monotonic() + timeout_ms / 1000
            while any(t not in existing for t in wanted) and time.monotonic() < deadline:
                time.sleep(0.2)
                existing = _partition_counts(admin)
        counts: dict[str, int] = {}
        bad: list[str] = []
        for t in wanted:
            got = existing.get(t)
            if got is None:
                raise RuntimeError(f"topic {t!r} still missing after create")
            if got != partitions:
                bad.append(f"{t} has {got} partitions, configured {partitions}")
            counts[t] = got
        if bad:
            raise TopicMismatchError(
                "partition count mismatch (delete the topics or configure the same count): "
                + "; ".join(bad)
            )
        return counts
    finally:
        admin.close()


def _partition_counts(admin: Any) -> dict[str, int]:
    """All topics -> partition count, via an all-topics Metadata request."""
    return {
        t["name"]: len(t["partitions"])
        for t in admin.describe_topics(None)
        if t.get("error_code", 0) == 0
    }
