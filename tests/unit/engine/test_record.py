"""The case is data; the engine's bookkeeping about it is the engine's record.

On the starting main ``Case`` held the emitted alerts, the timer and the rules' cached findings,
and case.py imported the rules (for the findings' type): the tests of the split fail there.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import itertools

import orjson

from streams.contract import timestamps
from streams.contract.decode import Decoder
from streams.engine.case import Case, Detainer
from streams.engine.processor import Engine
from streams.engine.record import CaseRecord, DetainerRecord, from_primitive, to_primitive
from streams.generate.synthetic import generate
from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from tests.support import REPO, Events

#: A record as the starting main stored it in the changelog (two detainers, one lifted, four
#: emitted alerts, content digests): it must load after the split.
STORED_BEFORE_THE_SPLIT = (
    b'{"b":"bk-old","j":"NY-NewYorkCity","z":null,"bk":[1317643200000000,"bk-old-ev1"],'
    b'"c":[["felony","drug"]],"h":[[1317646800000000,"no_lawful_status","L1","bk-old-ev2"]],'
    b'"d":[["dt-1",1317650400000000,"I-247-2011","bk-old-ev3",1317657600000000,'
    b"1317992400000000,-9223372036854775808,false],"
    b'["dt-2",1317650400000000,"I-247-2011","bk-old-ev4",1317657600000000,null,'
    b"-9223372036854775808,false]],"
    b'"el":[1317736800000000,"bk-old-ev7"],"ce":[null,null,null],"l":1317992400000000,'
    b'"s":["bk-old-ev1","bk-old-ev2","bk-old-ev3","bk-old-ev4","bk-old-ev5","bk-old-ev6",'
    b'"bk-old-ev7","bk-old-ev8"],'
    b'"e":[["hold_limit_approaching",1317888000000000,"resolved","dt-1"],'
    b'["hold_limit_approaching",1317888000000000,"resolved","dt-2"],'
    b'["hold_limit_exceeded",1317909600000000,"resolved","dt-1"],'
    b'["hold_limit_exceeded",1317909600000000,"firing","dt-2"]],'
    b'"sd":"84e2e29b2bfdf04bcd82b5fb2a62ae4cf88c1fb238535eeb91bbe724985429860eafa6b91ff480bc5e'
    b'e47700c7464c1220ac65bec7cb8374698cf43f3fd3ec2f"}'
)


def test_a_case_holds_only_what_the_events_said() -> None:
    fields = {f.name for f in dataclasses.fields(Case)}
    assert not fields & {"emitted", "timer_at", "findings"}
    assert {"emitted", "timer_at", "findings"} <= {f.name for f in dataclasses.fields(CaseRecord)}
    detainer = {f.name for f in dataclasses.fields(Detainer)}
    assert not detainer & {"issued_mark", "reported"}
    assert {"issued_mark", "reported"} <= {f.name for f in dataclasses.fields(DetainerRecord)}


def test_the_case_module_knows_nothing_of_rules_alerts_or_the_engine_record() -> None:
    """The import cycle case.py <-> rules <-> local_policy.py is gone."""
    tree = ast.parse((REPO / "streams" / "engine" / "case.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("streams.engine")}


def test_a_record_stored_before_the_split_loads_and_stores_the_same(policy: Policy) -> None:
    record = from_primitive(orjson.loads(STORED_BEFORE_THE_SPLIT))
    assert record.booking_id == "bk-old" and len(record.detainers) == 2
    assert dict(record.emitted)[("hold_limit_exceeded", 1317909600000000, "dt-2")] == "firing"
    assert to_primitive(record) == orjson.loads(STORED_BEFORE_THE_SPLIT)


def test_a_loaded_record_resolves_what_it_had_fired_and_fires_nothing_again(
    policy: Policy,
) -> None:
    alerts: list[dict[str, object]] = []
    record = from_primitive(orjson.loads(STORED_BEFORE_THE_SPLIT))
    engine = Engine(policy, alerts.append, store={"bk-old": record})
    engine.rebuild_timers()
    ev = Events("bk-old", "America/New_York")
    release = ev.release("2011-10-09 10:00", "transferred_to_ice") | {"event_id": "bk-old-ev9"}
    engine.process(Decoder().decode(orjson.dumps(release)), observe=False)
    engine.advance_to(timestamps.parse("2011-10-10T10:00:00-04:00"))
    stored_rules = {"hold_limit_exceeded", "hold_limit_approaching"}
    assert [
        (a["rule"], a["state"], a["details"]["detainer_id"])
        for a in alerts
        if a["rule"] in stored_rules
    ] == [("hold_limit_exceeded", "resolved", "dt-2")]


def test_the_watermark_is_noted_when_an_event_sets_a_detainer_issue() -> None:
    """The earliest issue wins (``case.apply``): the mark is the watermark of the event that set
    it, not of a later re-issue, and a plain ``Case`` gets plain detainers."""
    decoder = Decoder()
    ev = Events("bk-mark")
    record = CaseRecord("bk-mark")
    at = {"10:00": ev.detainer("2011-10-03 10:00"), "09:00": ev.detainer("2011-10-03 09:00")}
    later = ev.detainer("2011-10-03 11:00")
    record.apply(decoder.decode(orjson.dumps(at["10:00"])), 100)
    record.apply(decoder.decode(orjson.dumps(later)), 200)  # not the earliest: no new mark
    (detainer,) = record.detainers
    assert isinstance(detainer, DetainerRecord)
    assert (detainer.issued_event, detainer.issued_mark) == (at["10:00"]["event_id"], 100)
    record.apply(decoder.decode(orjson.dumps(at["09:00"])), 300)  # earlier: it is the issue now
    assert (detainer.issued_event, detainer.issued_mark) == (at["09:00"]["event_id"], 300)
    served = ev.detainer("2011-10-03 12:00", action="served")
    record.apply(decoder.decode(orjson.dumps(served)), 400)
    assert (detainer.issued_mark, detainer.reported) == (300, False)
    assert type(Case("bk").detainer("dt-1")) is Detainer


#: ``holdwatch generate --bookings 6000 --seed 14``: 19,086 events.
GENERATED_LOG = "d253a8492d73a62f379e71d63e3185961fd9ed0aca2d995e03e840f21c84abb0"
#: sha256 of every stored record (key, then its bytes) of every open case, in key order, after
#: every 500 lines of that log's replay and after its end; computed on main 58d0750, before the
#: detainers' issued_mark and reported moved from the case to the engine's record.
STORED_RECORDS = "c7b2b23ece2b1dad04fdc4684e7ebfc4064ca27a125c06473d6a4e9c56c8ea92"


def test_records_are_stored_with_the_same_bytes_as_before(policy: Policy) -> None:
    """What a worker writes to its changelog (``store.TableStore.flush``: ``to_primitive`` of each
    case) is byte for byte what main 58d0750 wrote, at every point of a replay: the detainers'
    bookkeeping (positions 6 and 7 of each ``"d"`` entry) included, so a worker of either version
    recovers the other's table."""
    lines = list(generate(6000, 14))
    assert hashlib.sha256(b"".join(lines)).hexdigest() == GENERATED_LOG
    replay = InProcessReplay(policy, lambda alert: None)
    cases = replay.engine.cases
    digest = hashlib.sha256()
    counts = {"records": 0, "marked": 0, "reported": 0}

    def stored() -> None:
        for key in sorted(cases):
            data = to_primitive(cases[key])
            digest.update(key.encode() + b"\n" + orjson.dumps(data) + b"\n")
            counts["records"] += 1
            counts["marked"] += sum(1 for d in data["d"] if d[6] is not None)
            counts["reported"] += sum(1 for d in data["d"] if d[7])
            restored = from_primitive(orjson.loads(orjson.dumps(data)))
            restored.timer_at = cases[key].timer_at  # rebuilt on recovery, never stored
            assert restored == cases[key]

    remaining = iter(lines)
    while chunk := list(itertools.islice(remaining, 500)):
        replay.feed(chunk)
        stored()
    replay.finish()
    stored()
    # Not vacuous: thousands of stored detainers carry a mark, and most were reported.
    assert counts == {"records": 71429, "marked": 4169, "reported": 4167}
    assert digest.hexdigest() == STORED_RECORDS
