"""Creating the topics (``streams.kafka.topics.ensure_topics``), on a fake admin client.

Apache Kafka answers CreateTopics before every broker's metadata cache shows the topic: under
load the very next Metadata request missed it and the `topics` step failed with "still missing
after create" (a crash-restart test, with three brokers on two cores)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.kafka import topics


class LaggingAdmin:
    """Created topics show up in metadata only after ``lag`` more Metadata requests."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.created: dict[str, int] = {}
        self.closed = False

    def describe_topics(self, _: Any) -> list[dict[str, Any]]:
        if self.lag:
            self.lag -= 1
            return []
        return [{"name": t, "partitions": [0] * n} for t, n in self.created.items()]

    def create_topics(self, spec: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.created.update({t: s["num_partitions"] for t, s in spec.items()})
        return {"topics": [{"name": t, "error_code": 0} for t in spec]}

    def close(self) -> None:
        self.closed = True


def with_admin(monkeypatch: pytest.MonkeyPatch, admin: LaggingAdmin) -> None:
    import kafka.admin

    monkeypatch.setattr(kafka.admin, "KafkaAdminClient", lambda **_: admin)


def test_topics_not_yet_in_the_metadata_after_create_are_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = LaggingAdmin(lag=3)  # the first listing, then two more before they show
    with_admin(monkeypatch, admin)
    counts = topics.ensure_topics({}, ["p.bookings", "p.hits"], partitions=4)
    assert counts == {"p.bookings": 4, "p.hits": 4}


def test_a_topic_that_never_shows_up_is_still_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = LaggingAdmin(lag=10**6)
    with_admin(monkeypatch, admin)
    with pytest.raises(RuntimeError, match="still missing after create"):
        topics.ensure_topics({}, ["p.bookings"], partitions=4, timeout_ms=500)
