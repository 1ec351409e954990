"""The lean case representation: shared empties, sorted ``seen``, and exact round trips; the
engine's caches (findings, places) change no alert."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.decode import Decoder
from streams.contract.structs import Charge
from streams.engine import rules
from streams.engine.case import (
    SEEN_TUPLE_MAX,
    Case,
    add_seen,
    charges_of,
    seen_of,
)
from streams.engine.processor import Engine
from streams.engine.record import NO_EMITTED, CaseRecord, from_primitive, to_primitive
from streams.generate.synthetic import generate
from streams.policy.model import Policy
from streams.replay.runner import InProcessReplay
from tests.support import Events

event_ids = st.lists(st.text(min_size=1, max_size=12), unique=True, max_size=3 * SEEN_TUPLE_MAX)


#: One or two bookings per test: one booking moves the event clock (tests/conftest.py).
CLOCK_QUORUM = 1


@settings(max_examples=300, deadline=None)
@given(event_ids, st.randoms(use_true_random=False))
def test_seen_does_not_depend_on_the_order_ids_arrive_in(
    ids: list[str], rng: random.Random
) -> None:
    shuffled = list(ids)
    rng.shuffle(shuffled)
    seen: tuple[str, ...] | set[str] = ()
    for event_id in shuffled:
        assert event_id not in seen
        seen = add_seen(seen, event_id)
        assert event_id in seen
    assert seen == seen_of(ids)
    assert sorted(seen) == sorted(ids)
    assert isinstance(seen, tuple) == (len(ids) <= SEEN_TUPLE_MAX)
    if isinstance(seen, tuple):
        assert list(seen) == sorted(ids)


def test_a_new_case_shares_its_empty_collections() -> None:
    one, two = CaseRecord("bk-1"), CaseRecord("bk-2")
    assert one.emitted is two.emitted is NO_EMITTED
    assert (one.hits, one.detainers, one.seen) == ((), (), ())
    one.record_emitted(("detainer_without_hit", 1, "dt-1"), "firing")
    assert one.emitted == {("detainer_without_hit", 1, "dt-1"): "firing"}
    assert two.emitted is NO_EMITTED and len(NO_EMITTED) == 0
    with pytest.raises(TypeError):
        NO_EMITTED[("x", 1, "")] = "firing"  # type: ignore[index]


def test_charge_lists_are_shared_between_cases() -> None:
    body = [{"code": "DUI", "severity": "misdemeanor", "category": "traffic"}]
    first = charges_of([Charge(**c) for c in body])
    second = charges_of(msgspec.convert(orjson.loads(orjson.dumps(body)), list[Charge]))
    assert first == (("misdemeanor", "traffic"),)
    assert first is second


def _events(ev: Events, extra_hits: int, extra_detainers: int) -> list[dict[str, Any]]:
    events = [
        ev.booking("2011-10-03 08:00", charges=[("misdemeanor", "traffic"), ("felony", "drug")]),
        ev.release("2011-10-04 10:00", "eligible"),
    ]
    for i in range(extra_hits):
        events.append(ev.hit(f"2011-10-03 09:{i:02d}", level="L3"))
    for i in range(extra_detainers):
        events.append(ev.detainer(f"2011-10-03 10:{i:02d}", detainer_id=f"det-{i}"))
        events.append(
            ev.detainer(f"2011-10-03 11:{i:02d}", detainer_id=f"det-{i}", action="served")
        )
    events.append(ev.release("2011-10-09 10:00", "transferred_to_ice"))
    return events


@pytest.mark.parametrize(("hits", "detainers"), [(0, 0), (1, 1), (3, 2), (2, 6)])
def test_a_case_round_trips_through_its_primitive_form(
    policy: Policy, hits: int, detainers: int
) -> None:
    engine = Engine(policy, lambda alert: None)
    decoder = Decoder()
    ev = Events("bk-rt", "America/New_York")
    for event in _events(ev, hits, detainers):
        engine.process(decoder.decode(orjson.dumps(event)))
        case = engine.cases["bk-rt"]
        restored = from_primitive(orjson.loads(orjson.dumps(to_primitive(case))))
        restored.timer_at = case.timer_at
        assert restored == case
        assert type(restored.seen) is type(case.seen)
        assert type(restored.hits) is type(case.hits) is tuple
        assert to_primitive(restored) == to_primitive(case)
        assert (restored.emitted is NO_EMITTED) == (len(case.emitted) == 0)
    assert len(case.seen) == len(_events(ev, hits, detainers))


class _CheckedEngine(Engine):
    """Checks, at every reconciliation, that a case's cached findings are what the rules say
    now (without the place cache): reusing them can then change nothing."""

    checked = 0

    def _reconcile(self, case: Case, timer: bool = False) -> None:
        if case.findings is not None:
            assert case.findings == rules.evaluate(case, self.policy)
            type(self).checked += 1
        super()._reconcile(case, timer)


class _FreshEngine(Engine):
    """The reference: every reconciliation evaluates the rules afresh."""

    def _reconcile(self, case: Case, timer: bool = False) -> None:
        case.findings = None
        super()._reconcile(case, timer)


def _replay(policy: Policy, lines: list[bytes], engine: type[Engine]) -> list[bytes]:
    """Alerts and the monitor's daily evaluations, in the order they happened."""
    out: list[bytes] = []

    def evaluated(jurisdiction: str, midnight: int, share: float | None, count: int) -> None:
        out.append(orjson.dumps(["evaluated", jurisdiction, midnight, share, count]))

    runner = InProcessReplay(
        policy, lambda alert: out.append(orjson.dumps(alert)), on_evaluate=evaluated
    )
    runner.engine = engine(policy, runner.on_alert, on_fact=runner.monitor.accept)
    for start in range(0, len(lines), 1000):
        runner.feed(lines[start : start + 1000])
    runner.finish()
    return out


def test_cached_findings_change_no_alert(policy: Policy) -> None:
    # A low share threshold, so that the jurisdiction monitor fires too.
    policy = replace(policy, monitor=replace(policy.monitor, min_detainers=3, margin=0.0))
    lines = list(generate(3000, 11))
    fast = _replay(policy, lines, _CheckedEngine)
    assert _CheckedEngine.checked > 100
    kinds = {orjson.loads(line)["rule"] for line in fast if not line.startswith(b'["evaluated"')}
    assert {"jurisdiction_low_priority_share", "hold_limit_exceeded"} <= kinds
    assert fast == _replay(policy, lines, _FreshEngine)


def test_applying_an_event_forgets_the_cached_findings(policy: Policy) -> None:
    """The cache is the engine's (``CaseRecord.findings``): ``apply`` folds facts only, and the
    engine drops the findings whenever it applies an event to the case (a timer pass keeps them)."""
    decoder = Decoder()
    ev = Events("bk-c", "America/New_York")
    engine = Engine(policy, lambda alert: None)
    for event in [ev.booking("2011-10-03 08:00"), ev.detainer("2011-10-03 10:00")]:
        engine.process(decoder.decode(orjson.dumps(event)), observe=False)
    case = engine.cases["bk-c"]
    assert case.findings is not None  # evaluated when the detainer was applied
    assert "hold_limit_exceeded" not in {f.rule for f in case.findings}  # not eligible yet
    eligible = ev.release("2011-10-04 10:00", "eligible")
    engine.process(decoder.decode(orjson.dumps(eligible)), observe=False)
    assert "hold_limit_exceeded" in {f.rule for f in case.findings or []}  # not the stale cache
