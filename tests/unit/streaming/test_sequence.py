"""Every input offset reaches the agent, in order (``streams.streaming.sequence``).

On Apache Kafka the kafka-2 trace showed Faust dropping records during a rebalance without a
word (offset 0 applied, 1 never delivered, 2 onwards applied); before the sequence the agent
applied 2 onwards and the event at 1 was lost."""

from __future__ import annotations

from streams.streaming.sequence import Hole, OffsetSequence, Seek

BOOKINGS_2 = ("bookings", 2)
HITS_2 = ("hits", 2)


def test_consecutive_offsets_are_applied() -> None:
    seq = OffsetSequence()
    assert [seq.admit(BOOKINGS_2, offset, 1) for offset in (0, 1, 2)] == [None, None, None]
    assert seq.seeks() == []


def test_a_hole_is_left_alone_and_read_again_from_its_first_missing_offset() -> None:
    seq = OffsetSequence()
    seq.admit(BOOKINGS_2, 0, 1)
    assert seq.admit(BOOKINGS_2, 2, 1) == Hole(BOOKINGS_2, 1, 2)
    assert seq.admit(BOOKINGS_2, 3, 1) == Hole(BOOKINGS_2, 1, 3)  # buffered behind it
    assert seq.seeks() == [Seek(BOOKINGS_2, 1, first=True)]  # one seek, however many skipped
    assert seq.seeks() == []
    assert [seq.admit(BOOKINGS_2, offset, 1) for offset in (1, 2, 3)] == [None, None, None]


def test_a_seek_undone_by_records_buffered_before_it_is_made_again() -> None:
    """Kafka-2 stall: a seek back to 7, then records up to 526 buffered from before it arrived
    and the re-read never came. Every delivery run with the hole still open seeks again."""
    seq = OffsetSequence()
    for offset in range(7):
        seq.admit(BOOKINGS_2, offset, 1)
    assert seq.admit(BOOKINGS_2, 235, 1) is not None
    assert seq.seeks() == [Seek(BOOKINGS_2, 7, first=True)]
    for offset in (236, 300, 526):
        assert seq.admit(BOOKINGS_2, offset, 1) is not None
    assert seq.seeks() == [Seek(BOOKINGS_2, 7, first=False)]  # once per run, however many
    assert seq.seeks() == []
    assert seq.admit(BOOKINGS_2, 7, 1) is None


def test_a_hole_is_never_taken_for_the_logs_own() -> None:
    """Found again after any number of seeks, the partition keeps asking for the missing offset
    rather than apply events past a record it never read (inputs are not transactional)."""
    seq = OffsetSequence()
    seq.admit(BOOKINGS_2, 0, 1)
    for _ in range(50):
        assert seq.admit(BOOKINGS_2, 5, 1) == Hole(BOOKINGS_2, 1, 5)
        assert [s.offset for s in seq.seeks()] == [1]


def test_records_deleted_by_retention_are_skipped_on_the_brokers_word() -> None:
    seq = OffsetSequence()
    seq.admit(BOOKINGS_2, 0, 1)
    seq.admit(BOOKINGS_2, 40, 1)
    seq.skip_to(BOOKINGS_2, 30)  # the partition now starts at 30
    assert seq.seeks() == []
    assert seq.admit(BOOKINGS_2, 40, 1) == Hole(BOOKINGS_2, 30, 40)  # 30-39 still to read
    assert seq.admit(BOOKINGS_2, 30, 1) is None


def test_a_read_again_after_a_seek_back_is_applied() -> None:
    """Faust's own seek to the committed offset after recovery, or the lost-log rewind: the
    engine drops the events it already has by event_id."""
    seq = OffsetSequence()
    for offset in (4, 5, 6):
        seq.admit(BOOKINGS_2, offset, 1)
    assert [seq.admit(BOOKINGS_2, offset, 1) for offset in (4, 5, 6, 7)] == [None] * 4


def test_each_topic_partition_and_generation_starts_where_the_consumer_puts_it() -> None:
    seq = OffsetSequence()
    seq.admit(BOOKINGS_2, 10, 1)
    assert seq.admit(HITS_2, 7, 1) is None
    assert seq.admit(BOOKINGS_2, 3, 2) is None  # a new generation: read from the committed offset
    assert seq.admit(BOOKINGS_2, 4, 2) is None


def test_a_revoked_partition_starts_afresh() -> None:
    seq = OffsetSequence()
    seq.admit(BOOKINGS_2, 0, 1)
    seq.admit(BOOKINGS_2, 5, 1)
    seq.forget({2})
    assert seq.seeks() == []
    assert seq.admit(BOOKINGS_2, 9, 1) is None
