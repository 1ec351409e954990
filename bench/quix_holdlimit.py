"""The hold-limit rule written the way a Quix Streams user would: one JSON topic keyed by booking,
one stateful ``apply`` that keeps the per-booking facts in Quix's state store, alerts to a topic.

Rule (as ``hold_limit_exceeded`` in the contract): an issued, not lifted detainer; the person became
release-eligible; custody has not ended at the deadline (``I-247-2011``: 48 business-day hours in
the booking's zone with our calendar ``streams.engine.calendar.deadline``; ``I-247A-2017``: 48
elapsed hours). ``occurred_at`` = max(deadline, issue time); ending exactly then is within the limit.
Facts are first-wins by event time (earliest eligible, earliest custody end, earliest issue), so the
arrival order of a booking's events does not matter.

What Quix Streams cannot express idiomatically: *firing at the deadline with no further event*.
Its stateful functions only run when a message for that key arrives (there are no per-key timers;
windows close on the partition watermark but carry aggregates, not a "still held at time T"
check). So this app fires a hold-limit alert when the evidence is final for that booking: the
custody end (or lift) arrives later than the deadline. A booking still held at the end of the log
with no further event never alerts here; Holdwatch fires it when the watermark passes the deadline.
The harness counts those separately.

Run: ``python -m bench.quix_holdlimit BROKER INPUT_TOPIC ALERTS_TOPIC EXPECTED_MESSAGES OUT.json``.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import Any

import orjson
from quixstreams import Application, State

from streams.engine.alerts import alert_id
from streams.engine.calendar import deadline
from streams.policy.load import load_policy

RULE = "hold_limit_exceeded"
POLICY = load_policy()


def micros(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return round(moment.timestamp() * 1_000_000)


def _earliest(state: State, key: str, at: int) -> bool:
    current = state.get(key)
    if current is None or at < current:
        state.set(key, at)
        return True
    return False


def hold_limit(event: dict[str, Any], state: State) -> list[dict[str, Any]]:
    """Fold one event into the booking's state; return the alerts that became certain."""
    at = micros(event["occurred_at"])
    kind = event["type"]
    if kind == "booking":
        if _earliest(state, "booked_at", at):
            state.set("jurisdiction", event["jurisdiction"])
            state.set("timezone", event.get("timezone"))
    elif kind == "release":
        _earliest(state, "eligible_at" if event["phase"] == "eligible" else "custody_end_at", at)
    elif kind == "detainer":
        detainers: dict[str, Any] = state.get("detainers") or {}
        record = detainers.setdefault(event["detainer_id"], {})
        action = event["action"]
        field = {"issued": "issued_at", "served": "served_at", "lifted": "lifted_at"}[action]
        if record.get(field) is None or at < record[field]:
            record[field] = at
            if action == "issued":
                record["form"] = event["form"]
            state.set("detainers", detainers)
    else:
        return []
    return _decide(state, event["booking_id"])


def _decide(state: State, booking_id: str) -> list[dict[str, Any]]:
    eligible = state.get("eligible_at")
    detainers = state.get("detainers")
    if eligible is None or not detainers:
        return []
    jurisdiction = state.get("jurisdiction")
    if not POLICY.rule_enabled(RULE, jurisdiction):
        return []
    # [detainer id, occurred] pairs already alerted: one alert per detainer, as in Holdwatch.
    fired: list[list[Any]] = state.get("fired") or []
    zone = POLICY.timezone_for(jurisdiction, state.get("timezone"))
    subdivision = POLICY.holiday_subdivision(jurisdiction)
    custody_end = state.get("custody_end_at")
    out = []
    for detainer_id, record in sorted(detainers.items()):
        issued = record.get("issued_at")
        if issued is None:
            continue
        due = deadline(
            eligible, POLICY.forms[record["form"]], zone, POLICY.calendar.country, subdivision
        )
        occurred = max(due, issued)
        ends = [t for t in (custody_end, record.get("lifted_at")) if t is not None]
        if not ends or min(ends) <= occurred or [detainer_id, occurred] in fired:
            continue  # still held (no certainty yet), or ended within the limit, or already alerted
        fired.append([detainer_id, occurred])
        out.append(
            {
                "alert_id": alert_id(RULE, booking_id, occurred, detainer_id=detainer_id),
                "rule": RULE,
                "state": "firing",
                "booking_id": booking_id,
                "jurisdiction": jurisdiction or "",
                "occurred_at_us": occurred,
                "details": {
                    "detainer_id": detainer_id,
                    "form": record["form"],
                    "hours_over": round((min(ends) - occurred) / 3.6e9, 2),
                },
            }
        )
    if out:
        state.set("fired", fired)
    return out


def build(
    broker: str, input_topic: str, alerts_topic: str, state_dir: str, group: str
) -> tuple[Application, Any]:
    app = Application(
        broker_address=broker,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        processing_guarantee="at-least-once",
        loglevel="WARNING",
        auto_create_topics=True,
    )
    events = app.topic(input_topic, value_deserializer="json", key_deserializer="string")
    alerts = app.topic(alerts_topic, value_serializer="json", key_serializer="string")
    sdf = app.dataframe(events)
    sdf = sdf.apply(_counted(hold_limit), stateful=True, expand=True)
    sdf = sdf.to_topic(alerts)
    return app, sdf


TIMES = {"first": 0.0, "last": 0.0, "count": 0}


def _counted(fn: Any) -> Any:
    def wrapper(value: dict[str, Any], state: State) -> list[dict[str, Any]]:
        now = time.perf_counter()
        if not TIMES["count"]:
            TIMES["first"] = now
        TIMES["count"] += 1
        result = fn(value, state)
        TIMES["last"] = time.perf_counter()
        return result

    return wrapper


def tansu_shim() -> None:
    """Tansu answers DescribeConfigs with no entries; Quix needs ``retention.ms`` of the input topic
    to derive its changelog topic's config (it already defaults ``retention.bytes`` to -1 when
    absent). Default ``retention.ms`` to -1 (infinite) the same way. Nothing else is changed."""
    from quixstreams.models.topics.manager import TopicManager

    original = TopicManager.derive_topic_config

    def derive(cls: Any, topics: Any) -> Any:
        for topic in topics:
            topic.broker_config.extra_config.setdefault("retention.ms", "-1")
        return original.__func__(cls, topics)  # type: ignore[attr-defined]

    TopicManager.derive_topic_config = classmethod(derive)  # type: ignore[method-assign,assignment]


def main(argv: list[str]) -> int:
    import resource
    import traceback

    broker, input_topic, alerts_topic, expected, out = (
        argv[0],
        argv[1],
        argv[2],
        int(argv[3]),
        argv[4],
    )
    state_dir = argv[5] if len(argv) > 5 else "/tmp/holdwatch-bench-quix-state"
    group = f"bench-quix-{os.getpid()}"
    unpatched_error = None
    try:
        app, _sdf = build(broker, input_topic, alerts_topic, state_dir, group)
    except KeyError:
        unpatched_error = traceback.format_exc(limit=3).strip().splitlines()[-1]
        tansu_shim()
        app, _sdf = build(broker, input_topic, alerts_topic, state_dir, group)
    collected = app.run(timeout=2.0, collect=True)
    result = {
        "count": TIMES["count"],
        "seconds": TIMES["last"] - TIMES["first"],
        "expected": expected,
        "unpatched_error": unpatched_error,
        "alerts": collected,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    with open(out, "wb") as file:
        file.write(orjson.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
