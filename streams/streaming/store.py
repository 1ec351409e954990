"""A partition's cases: Python objects in memory, written through to a changelog-backed table.

Reads come from the in-memory dict (no decoding per event); every write also goes to the Faust
table, whose changelog topic is what a restarted or rebalanced worker recovers from.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson
from kafka.partitioner.default import murmur2

from streams.engine.record import CaseRecord, from_primitive, to_primitive
from streams.streaming.commit import Changelog


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, kafka-python, aiokafka) picks for a key."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class TableStore(MutableMapping[str, CaseRecord]):
    """Writes are kept until :meth:`flush`: the agent flushes only after the alerts a message
    caused are delivered, so a crash in between re-delivers the message to a case that has not
    yet recorded those alerts as sent (and they are sent again, with the same ids)."""

    def __init__(self, changelog: Changelog, partition: int, partitions: int) -> None:
        self._changelog = changelog
        self._partition = partition
        table = changelog.table
        self._cases: dict[str, CaseRecord] = {}
        self._dirty: set[str] = set()
        for raw_key, value in list(table.items()):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            if value is not None and partition_of(key, partitions) == partition:
                self._cases[key] = from_primitive(orjson.loads(value))

    def __getitem__(self, key: str) -> CaseRecord:
        return self._cases[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._cases.get(key, default)

    def __setitem__(self, key: str, case: CaseRecord) -> None:
        self._cases[key] = case
        self._dirty.add(key)

    def __delitem__(self, key: str) -> None:
        del self._cases[key]
        self._dirty.add(key)

    def flush(self) -> int:
        """Write the changed cases to the table (its changelog is what recovery reads); the agent
        awaits their records (:meth:`Changelog.delivered`) before it acks.

        Call it inside :func:`streams.streaming.commit.acting_for` one of this partition's
        messages (a RocksDB store files the key by the current event). Returns how many keys were
        written.
        """
        written = len(self._dirty)
        write, partition = self._changelog.write, self._partition
        for key in self._dirty:
            case = self._cases.get(key)
            write(
                partition, key.encode(), None if case is None else orjson.dumps(to_primitive(case))
            )
        self._dirty.clear()
        return written

    def __iter__(self) -> Iterator[str]:
        return iter(self._cases)

    def __len__(self) -> int:
        return len(self._cases)
