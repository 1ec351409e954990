"""The case is data; the engine's bookkeeping about it is the engine's record.

On the starting main ``Case`` held the emitted alerts, the timer and the rules' cached findings,
and case.py imported the rules (for the findings' type): the tests of the split fail there.
"""

from __future__ import annotations

import ast
import dataclasses

import orjson

from streams.contract import timestamps
from streams.contract.decode import Decoder
from streams.engine.case import Case
from streams.engine.processor import Engine
from streams.engine.record import CaseRecord, from_primitive, to_primitive
from streams.policy.model import Policy
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
