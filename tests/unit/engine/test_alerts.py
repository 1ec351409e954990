"""The alert lifecycle per detainer (issue 12 §3): a booking held on two detainers is two alerts,
each with its own id, its own firing/resolved lifecycle and its own ``hours_over``."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from streams.contract import timestamps
from streams.contract.decode import Decoder
from streams.engine import rules
from streams.engine.alerts import alert_id
from streams.engine.case import Case, apply
from streams.engine.processor import Engine
from streams.engine.record import CaseRecord, from_primitive, to_primitive
from streams.policy.model import Policy
from tests.support import Events, firing, replay, resolved, two_detainers

#: One booking per scenario: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1

HOLD = "hold_limit_exceeded"
COPY = "detainer_copy_not_served"


def by_detainer(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["details"]["detainer_id"]: a for a in alerts}


class TestHoldLimitPerDetainer:
    def test_two_detainers_with_one_deadline_are_two_alerts_each_with_its_own_hours_over(
        self, policy: Policy, ny: Events
    ) -> None:
        """Fails on the old main: one shared alert, resolved by the first lift with 10 h, and
        the second detainer's four more days never reported."""
        events = two_detainers(ny, lift_first="2011-10-06 20:00", custody_end="2011-10-10 20:00")
        alerts, _, _ = replay(policy, events)
        fired = by_detainer(firing(alerts, HOLD))
        assert set(fired) == {"dt-1", "dt-2"}
        assert fired["dt-1"]["alert_id"] != fired["dt-2"]["alert_id"]
        assert {a["occurred_at"] for a in fired.values()} == {"2011-10-06T10:00:00-04:00"}
        ended = by_detainer(resolved(alerts, HOLD))
        assert set(ended) == {"dt-1", "dt-2"}
        for detainer, alert in ended.items():
            assert alert["alert_id"] == fired[detainer]["alert_id"]
        assert ended["dt-1"]["details"]["hours_over"] == 10.0
        assert ended["dt-1"]["details"]["resolved_at"] == "2011-10-06T20:00:00-04:00"
        assert "custody_end" not in ended["dt-1"]["details"]
        assert ended["dt-2"]["details"]["hours_over"] == 106.0
        assert ended["dt-2"]["details"]["custody_end"] == "transferred_to_ice"

    def test_the_second_detainer_stays_firing_after_the_first_is_lifted(
        self, policy: Policy, ny: Events
    ) -> None:
        """Fails on the old main: the lift of dt-1 resolved the booking's only alert."""
        events = two_detainers(ny, lift_first="2011-10-06 20:00", custody_end=None)
        alerts, _, _ = replay(policy, events, until="2011-10-08T00:00:00-04:00")
        assert len(firing(alerts, HOLD)) == 2
        [ended] = resolved(alerts, HOLD)
        assert ended["details"]["detainer_id"] == "dt-1"

    def test_each_finding_names_its_detainer(self, policy: Policy, ny: Events) -> None:
        decoder = Decoder()
        case = Case("bk-ny")
        for event in two_detainers(ny, None, None):
            apply(case, decoder.decode(orjson.dumps(event)))
        found = [f for f in rules.evaluate(case, policy) if f.rule == HOLD]
        assert [f.detainer for f in found] == ["dt-1", "dt-2"]
        assert [f.details["detainer_id"] for f in found] == ["dt-1", "dt-2"]
        assert found[0].key == (HOLD, found[0].at, "dt-1")


class TestCopyNotServedPerDetainer:
    def test_two_detainers_issued_together_and_never_served_are_two_alerts(
        self, policy: Policy, ny: Events
    ) -> None:
        """Fails on the old main: one alert for both detainers."""
        events = [
            ny.booking("2011-10-03 08:00"),
            ny.hit("2011-10-03 09:00"),
            ny.detainer("2011-10-03 10:00", detainer_id="dt-1"),
            ny.detainer("2011-10-03 10:00", detainer_id="dt-2"),
            ny.detainer("2011-10-04 16:00", action="served", detainer_id="dt-1"),  # 6 h late
            ny.release("2011-10-07 10:00", "transferred_to_ice"),
        ]
        alerts, _, _ = replay(policy, events)
        fired = by_detainer(firing(alerts, COPY))
        assert set(fired) == {"dt-1", "dt-2"}
        assert fired["dt-1"]["alert_id"] != fired["dt-2"]["alert_id"]
        ended = by_detainer(resolved(alerts, COPY))
        assert ended["dt-1"]["details"]["resolved_at"] == "2011-10-04T16:00:00-04:00"
        assert ended["dt-2"]["details"]["resolved_at"] == "2011-10-07T10:00:00-04:00"


class TestAlertId:
    def test_a_per_detainer_id_depends_on_the_detainer(self) -> None:
        one = alert_id(HOLD, "bk-1", 1_000, detainer_id="dt-1")
        two = alert_id(HOLD, "bk-1", 1_000, detainer_id="dt-2")
        assert one != two and len(one) == 32

    def test_an_id_without_a_detainer_is_the_one_of_earlier_versions(self) -> None:
        """Jurisdiction-level alerts (and any booking-level rule) keep their ids."""
        old = hashlib.blake2b(
            b"jurisdiction_low_priority_share\x1fjurisdiction:TX\x1f5", digest_size=16
        )
        assert alert_id("jurisdiction_low_priority_share", "", 5, "TX") == old.hexdigest()
        old = hashlib.blake2b(f"{HOLD}\x1fbk-1\x1f5".encode(), digest_size=16)
        assert alert_id(HOLD, "bk-1", 5) == old.hexdigest()


class TestStoredStateOfEarlierVersions:
    """A changelog written before per-detainer keys stores ``[rule, at, state]`` per alert."""

    def test_a_three_element_emitted_entry_loads_without_a_detainer(self) -> None:
        stored = to_primitive(CaseRecord("bk-old"))
        stored["e"] = [[HOLD, 5, "firing"]]
        case = from_primitive(orjson.loads(orjson.dumps(stored)))
        assert dict(case.emitted) == {(HOLD, 5, ""): "firing"}
        assert to_primitive(case)["e"] == [[HOLD, 5, "firing"]]

    def test_a_per_detainer_entry_round_trips(self) -> None:
        case = CaseRecord("bk-new")
        case.record_emitted((HOLD, 5, "dt-2"), "resolved")
        restored = from_primitive(orjson.loads(orjson.dumps(to_primitive(case))))
        assert dict(restored.emitted) == {(HOLD, 5, "dt-2"): "resolved"}

    def test_an_alert_fired_by_an_earlier_version_resolves_under_its_old_id(
        self, policy: Policy, ny: Events
    ) -> None:
        """The old version fired one alert for both detainers (id without detainer) and stored
        (rule, at). After the upgrade the first detainer continues that alert, so its resolved
        repeats the id already sent; the second detainer, never reported, fires its own."""
        decoder = Decoder()
        events = two_detainers(ny, lift_first="2011-10-06 20:00", custody_end="2011-10-10 20:00")
        before, after = events[:-2], events[-2:]
        old_engine = Engine(policy, lambda alert: None)
        for event in before:
            old_engine.process(decoder.decode(orjson.dumps(event)))
        deadline = timestamps.parse("2011-10-06T10:00:00-04:00")
        old_engine.advance_to(deadline + timestamps.HOUR)
        stored = to_primitive(old_engine.cases["bk-ny"])
        legacy: dict[tuple[str, int], str] = {}
        for rule, at, state, *_ in stored["e"]:
            legacy.setdefault((rule, at), state)  # one alert per (rule, at), as main stored it
        stored["e"] = [[rule, at, state] for (rule, at), state in legacy.items()]
        assert legacy[(HOLD, deadline)] == "firing"

        alerts: list[dict[str, Any]] = []
        engine = Engine(policy, alerts.append, store={"bk-ny": from_primitive(stored)})
        engine.rebuild_timers()
        engine.advance_to(deadline + timestamps.HOUR)
        for event in after:
            engine.process(decoder.decode(orjson.dumps(event)))
        engine.advance_to(timestamps.parse("2011-10-11T00:00:00-04:00"))

        old_id = alert_id(HOLD, "bk-ny", deadline)
        [new] = firing(alerts, HOLD)
        assert new["details"]["detainer_id"] == "dt-2"
        assert new["alert_id"] == alert_id(HOLD, "bk-ny", deadline, detainer_id="dt-2")
        ended = by_detainer(resolved(alerts, HOLD))
        assert ended["dt-1"]["alert_id"] == old_id
        assert ended["dt-1"]["details"]["hours_over"] == 10.0
        assert ended["dt-2"]["alert_id"] == new["alert_id"]
        assert ended["dt-2"]["details"]["hours_over"] == 106.0
