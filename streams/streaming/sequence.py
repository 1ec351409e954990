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

Records buffered from before a seek arrive as holes too, and during a rebalance's recovery the
re-read may be dropped again: each delivery run with the hole still open seeks again (at most
once per topic-partition per run) until the missing offset comes.

A hole is never taken as the log's own, with one exception: records deleted by retention before
this worker read them (the missing offset is below the partition's first; the agent asks the
broker, :meth:`OffsetSequence.skip_to`, and logs an error). Holdwatch's input and facts topics are
written without transactions and not compacted, so their offsets are consecutive; a topic that
is (transaction markers take offsets) would make its partitions seek for ever, which the logs
show, rather than let the worker apply events past records it never read.
The first offset of a generation is taken as it comes: where a partition starts is the
consumer's seek (``transport._ConsumerThread.seek_to_committed``).

Pure Python: the agent feeds offsets in and performs the seeks it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (topic, partition)
TopicPartition = tuple[str, int]


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
    pending: bool = True  # a seek asked for and not yet done


@dataclass(frozen=True, slots=True)
class Seek:
    """Read ``tp`` again from ``offset``; ``first``: the first seek for this hole."""

    tp: TopicPartition
    offset: int
    first: bool


class OffsetSequence:
    """Per input topic-partition, the next offset the agent must be given (one generation)."""

    def __init__(self) -> None:
        self.generation: int | None = -1  # the consumer generation the offsets belong to
        self._next: dict[TopicPartition, int] = {}
        self._reseeks: dict[TopicPartition, _Reseek] = {}

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
        hole = Hole(tp, expected, offset)
        reseek = self._reseeks.get(tp)
        if reseek is None or reseek.hole.expected != expected:
            self._reseeks[tp] = _Reseek(hole)
        else:
            reseek.pending = True  # buffered from before the last seek, or that seek undone
        return hole

    def seeks(self) -> list[Seek]:
        """The seeks back to perform now, each marked done (one that cannot be made, the
        partition revoked meanwhile, is moot: the next generation starts afresh)."""
        out = []
        for tp, reseek in self._reseeks.items():
            if reseek.pending:
                reseek.pending = False
                reseek.sought += 1
                out.append(Seek(tp, reseek.hole.expected, reseek.sought == 1))
        return out

    def skip_to(self, tp: TopicPartition, offset: int) -> None:
        """The records of ``tp`` below ``offset`` are gone (retention): expect ``offset`` next."""
        self._reseeks.pop(tp, None)
        self._next[tp] = offset

    def forget(self, partitions: set[int]) -> None:
        """Revoked partitions: their next reading starts wherever the consumer puts it."""
        for table in (self._next, self._reseeks):
            for tp in [tp for tp in table if tp[1] in partitions]:
                del table[tp]

    def reset(self) -> None:
        self._next.clear()
        self._reseeks.clear()
