"""The decoder's fast path (msgspec Structs) says what ``schemas/`` says, and decides every input
exactly as the exact path (orjson + fastjsonschema) does.

On the starting main of issue 15 there is no fast path: ``streams.contract.structs`` does not
exist, so every test here fails at import.
"""

from __future__ import annotations

import copy
import gzip
import json
from importlib import resources
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.contract import decode as decode_module
from streams.contract.decode import Decoder, Rejected
from streams.contract.events import Event
from streams.contract.schemas import _inlined, schema
from streams.contract.structs import InputEvent
from streams.contract.vocabulary import EVENT_TYPES
from tests.unit.reliability import strategies as S

#: What a JSON Schema may say that msgspec's schema cannot, and why each is still checked:
#: ``format: date-time`` (structs.DATE_TIME, fastjsonschema's own regex), the detainer's
#: ``if``/``then`` "form required when issued" (a check in Decoder.decode); the IANA zone and the
#: key/topic checks are not in the schemas at all (Python checks in Decoder.decode, both paths).
NOT_EXPRESSIBLE = {"format", "if", "then"}
ANNOTATIONS = {"description", "title", "$comment", "$schema", "$id"}


def normalised(node: Any, defs: dict[str, Any]) -> Any:
    """A schema with references resolved, annotations dropped, ``const`` as a one-value enum and
    enums and required lists as sets: two spellings of one constraint compare equal."""
    if isinstance(node, list):
        return [normalised(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return normalised(defs[ref.removeprefix("#/$defs/")], defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ANNOTATIONS or key in NOT_EXPRESSIBLE:
            continue
        if key == "const":
            out["enum"] = frozenset([value])
        elif key in ("enum", "required"):
            out[key] = frozenset(value)
        else:
            out[key] = normalised(value, defs)
    return out


def struct_schemas() -> dict[str, Any]:
    document = msgspec.json.schema(InputEvent)
    defs = document["$defs"]
    return {
        tag: normalised({"$ref": target}, defs)
        for tag, target in document["discriminator"]["mapping"].items()
    }


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_each_struct_states_its_schema(kind: str) -> None:
    """Field names, types, lengths, enums, required fields and ``additionalProperties: false``
    agree with schemas/<kind>.schema.json, all but what msgspec cannot express."""
    assert struct_schemas()[kind] == normalised(_inlined(schema(kind)), {})


def test_the_tag_is_the_event_type() -> None:
    assert msgspec.json.schema(InputEvent)["discriminator"]["propertyName"] == "type"
    assert set(struct_schemas()) == set(EVENT_TYPES)


def test_only_the_inexpressible_differs() -> None:
    """The keys dropped by the normalisation are only the ones listed (nothing else silently)."""
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            used.update(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in EVENT_TYPES:
        walk(_inlined(schema(kind)))
    assert used & NOT_EXPRESSIBLE == {"format", "if", "then"}


def test_a_hit_reads_as_its_struct() -> None:
    hit = msgspec.json.decode(
        b'{"type":"hit","event_id":"e","booking_id":"b","occurred_at":"2020-01-01T00:00:00Z",'
        b'"database":"IDENT","status":"unknown","conviction_level":"L2"}',
        type=InputEvent,
    )
    assert (hit.database, hit.status, hit.conviction_level) == ("IDENT", "unknown", "L2")


# -- the two paths decide alike ------------------------------------------------------------------


def outcome(decoder: Decoder, raw: bytes, expected: str | None, key: bytes | None) -> Any:
    try:
        event: Event = decoder.decode(raw, expected_type=expected, key=key)
    except Rejected as exc:
        return ("rejected", exc.reason, exc.detail)
    return ("accepted", event)


def exact_outcome(raw: bytes, expected: str | None, key: bytes | None) -> Any:
    """The decoder with its fast path refusing everything: the path of every input before."""

    def refuse(raw: bytes) -> Any:
        raise msgspec.ValidationError("fast path off")

    saved = decode_module._fast_decode
    decode_module._fast_decode = refuse
    try:
        return outcome(DECODER, raw, expected, key)
    finally:
        decode_module._fast_decode = saved


DECODER = Decoder()


def sample_bodies(per_type: int = 100) -> list[dict[str, Any]]:
    """Up to ``per_type`` lines of each event type from the bundled sample."""
    path = resources.files("streams.data").joinpath("sample.jsonl.gz")
    kept: dict[str, list[dict[str, Any]]] = {kind: [] for kind in EVENT_TYPES}
    with gzip.open(str(path), "rb") as lines:
        for line in lines:
            body = orjson.loads(line)
            if len(kept[body["type"]]) < per_type:
                kept[body["type"]].append(body)
    return [body for bodies in kept.values() for body in bodies]


SAMPLES = sample_bodies()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=4,
)
FIELDS = sorted({key for body in SAMPLES for key in body} | {"form", "reason", "x"})


def dumps(value: Any) -> bytes:
    """JSON of any value, integers beyond 64 bits included (orjson refuses to write those)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A sample line with fields removed, replaced, added or duplicated, or its bytes changed."""
    body = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(FIELDS))
        action = draw(st.sampled_from(["drop", "set", "enum", "charges"]))
        if action == "drop":
            body.pop(field, None)
        elif action == "set":
            body[field] = draw(json_values)
        elif action == "enum":
            body[field] = draw(st.sampled_from(["", "L1", "issued", "day", "booking", "x" * 129]))
        elif isinstance(body.get("charges"), list) and body["charges"]:
            charge = body["charges"][0]
            if isinstance(charge, dict):
                charge[draw(st.sampled_from(["code", "severity", "category", "x"]))] = draw(
                    json_values
                )
    raw = dumps(body)
    if draw(st.booleans()):  # a duplicated key: the last one counts, in both parsers
        field = draw(st.sampled_from(FIELDS))
        raw = raw[:1] + dumps({field: draw(json_values)})[1:-1] + b"," + raw[1:]
    if draw(st.integers(0, 4)) == 0 and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    return raw


ISSUED = next(body for body in SAMPLES if body.get("action") == "issued")


@example(raw=dumps({k: v for k, v in ISSUED.items() if k != "form"}), expected=None, keyed=False)
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=mutated() | S.body_messages().map(lambda msg: msg.raw),
    expected=st.none() | st.sampled_from(EVENT_TYPES),
    keyed=st.booleans(),
)
def test_fast_and_exact_paths_agree(raw: bytes, expected: str | None, keyed: bool) -> None:
    """For mutated sample lines and the fuzz suite's bad inputs: the same accepted event, or the
    same dead-letter reason and detail, whichever path decides."""
    key: bytes | None = None
    if keyed:
        try:
            key = str(orjson.loads(raw).get("booking_id", "")).encode()
        except Exception:
            key = b"k"
    assert outcome(DECODER, raw, expected, key) == exact_outcome(raw, expected, key)


def test_the_sample_takes_the_fast_path() -> None:
    """Every line of the sample is accepted by the fast path alone (no fallback needed)."""
    for body in SAMPLES:
        raw = orjson.dumps(body)
        assert msgspec.to_builtins(decode_module._fast_decode(raw)) == body


BOOKING = next(body for body in SAMPLES if body["type"] == "booking" and "timezone" in body)
RELEASE = next(body for body in SAMPLES if body["type"] == "release")


@pytest.mark.parametrize("body", [BOOKING, RELEASE], ids=["booking", "release"])
@pytest.mark.parametrize("expected", [None, "booking", "release"])
@pytest.mark.parametrize("zone", ["keep", "Mars/Olympus_Mons"])
@pytest.mark.parametrize(
    "occurred_at",
    ["keep", "2011-10-01T00:02:49.5-07:00", "1899-12-31T23:59:59Z", "2011-10-01 00:02:49"],
)
@pytest.mark.parametrize("key", [None, b"", b"other", "own"])
def test_every_check_comes_in_the_same_order_on_both_paths(
    body: dict[str, Any], expected: str | None, zone: str, occurred_at: str, key: Any
) -> None:
    """Topic, zone, time and key each refusing or not: the first refusal in the documented order
    (topic, format, zone, time, key), or the event, whichever path decides. The fast path checks
    and rewrites a booking before its time and key are checked."""
    changed = dict(body)
    bad_zone = zone != "keep" and body["type"] == "booking"
    if bad_zone:
        changed["timezone"] = zone
    if occurred_at != "keep":
        changed["occurred_at"] = occurred_at
    raw = orjson.dumps(changed)
    own = changed["booking_id"].encode() if key == "own" else key
    first = next(
        (
            reason
            for reason, refused in [
                ("type_topic_mismatch", expected not in (None, body["type"])),
                ("schema_violation", occurred_at == "2011-10-01 00:02:49"),  # format: date-time
                ("schema_violation", bad_zone),
                ("bad_timestamp", occurred_at.startswith("1899")),
                ("empty_key", own == b""),
                ("key_mismatch", own == b"other"),
            ]
            if refused
        ),
        "accepted",
    )
    found = outcome(DECODER, raw, expected, own)
    assert found[0] == "accepted" if first == "accepted" else found[:2] == ("rejected", first)
    assert found == exact_outcome(raw, expected, own)
