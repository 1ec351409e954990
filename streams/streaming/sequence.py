"""Every input offset reaches the agent, in order: a hole in what the consumer delivers is read
again, not skipped.

Faust's fetch loop can drop records without a word: during a rebalance it discards records it
fetched for a partition it holds paused, after aiokafka has moved the position past them, and
counts on its later seek to the committed offsets to read them again. That seek comes too early
in some interleavings (seen on Apache Kafka: offset 0 of a partition applied during the seek,
1 never delivered, 2 onwards applied), and a record nobody reads again is an event lost: a
missing hit invents a ``detainer_without_hit``, a missing release hides a violation.

Within one consumer generation the offsets of a topic-partition the agent is given must follow
each other (Holdwatch's inputs and facts are written without transactions and are not
compacted, so their offsets are consecutive). :class:`OffsetSequence` says, per message, whether
to apply it or whether offsets are missing before it; the agent then leaves it alone (neither
applied nor acked) and seeks the partition back to the first missing offset. An offset below the
expected one is a read again after a seek back: applied again (the engine drops its event by
``event_id``; ``commit.InOrderAcks`` forgets the first reading).

A hole that the log really has (a compacted topic, transaction markers, retention deleting
records under a lagging worker) would come back after every seek: after :data:`MAX_RESEEKS`
seeks it is accepted when found again, and the caller logs it as an error. Records buffered from
before a seek arrive as holes too: each delivery run seeks again until the re-read comes
(at most one seek per topic-partition per run). The first
offset of a generation is taken as it comes: where a partition starts is the consumer's seek
(``transport._ConsumerThread.seek_to_committed``).

Pure Python: the agent feeds offsets in and performs the seeks it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (topic, partition)
TopicPartition = tuple[str, int]

#: Seeks back to the same missing offset before a hole found again at the same offset is taken
#: as the log's own (records buffered from before a seek also count one, so not 1).
MAX_RESEEKS = 10


@dataclass(frozen=True, slots=True)
class Hole:
    """Offsets ``expected`` .. ``found`` - 1 of ``tp`` were not delivered before ``found``."""

    tp: TopicPartition
    expected: int
    found: int


@dataclass(slots=True)
class _Reseek:
    hole: Hole
    sought: int = 0  # seeks back done for this hole
    pending: bool = False  # a seek asked for and not yet done


class OffsetSequence:
    """Per input topic-partition, the next offset the agent must be given (one generation)."""

    def __init__(self, max_reseeks: int = MAX_RESEEKS) -> None:
        self.max_reseeks = max_reseeks
        self.generation: int | None = -1  # the consumer generation the offsets belong to
        self._next: dict[TopicPartition, int] = {}
        self._reseeks: dict[TopicPartition, _Reseek] = {}
        #: Holes accepted as the log's own since the last :meth:`accepted` call.
        self._accepted: list[Hole] = []

    def admit(self, tp: TopicPartition, offset: int, generation: int | None) -> Hole | None:
        """None: apply the message at ``offset``. A :class:`Hole`: leave it alone; offsets are
        missing before it (:meth:`seeks` says where to read again)."""
        if generation != self.generation:
            self.reset()
            self.generation = generation
        expected = self._next.get(tp)
        if expected is None or offset <= expected:
            self._reseeks.pop(tp, None)
            self._next[tp] = offset + 1
            return None
        reseek = self._reseeks.get(tp)
        hole = Hole(tp, expected, offset)
        if reseek is None or reseek.hole.expected != expected:
            self._reseeks[tp] = _Reseek(hole, pending=True)
            return hole
        if offset == reseek.hole.found and reseek.sought >= self.max_reseeks:
            del self._reseeks[tp]
            self._next[tp] = offset + 1
            self._accepted.append(hole)
            return None
        # Seek again: this may be a record buffered from before the last seek (then the seek is
        # one too many, and harmless), or the last seek was undone by such a record.
        reseek.pending = True
        return hole

    def seeks(self) -> list[tuple[TopicPartition, int]]:
        """The seeks back to perform now, each marked done (one that cannot be made, the
        partition revoked meanwhile, is moot: the next generation starts afresh)."""
        out = []
        for tp, reseek in self._reseeks.items():
            if reseek.pending:
                reseek.pending = False
                reseek.sought += 1
                out.append((tp, reseek.hole.expected))
        return out

    def accepted(self) -> list[Hole]:
        """Holes taken as the log's own since the last call (to be logged)."""
        out, self._accepted = self._accepted, []
        return out

    def forget(self, partitions: set[int]) -> None:
        """Revoked partitions: their next reading starts wherever the consumer puts it."""
        for table in (self._next, self._reseeks):
            for tp in [tp for tp in table if tp[1] in partitions]:
                del table[tp]

    def reset(self) -> None:
        self._next.clear()
        self._reseeks.clear()
