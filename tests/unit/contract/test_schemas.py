"""The schemas are the contract: valid draft 2020-12, and the fast validator agrees with the reference."""

from __future__ import annotations

import json

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator

from streams.contract.schemas import (
    MESSAGE_KINDS,
    _inlined,
    load_schemas,
    schema,
    schema_dir,
    validators,
)
from tests.support import REPO, Events, reference_validator

ev = Events("bk-s")
SAMPLES = {
    "booking": ev.booking(
        "2011-10-03T08:00:00-04:00",
        charges=[("felony", "violent"), ("infraction", "traffic")],
        timezone="America/New_York",
    ),
    "hit": ev.hit("2011-10-03T09:00:00Z"),
    "detainer": ev.detainer("2011-10-03T10:00:00.250-04:00"),
    "release": ev.release("2011-10-04T10:00:00+00:00", "eligible") | {"reason": "bail_posted"},
}


def test_every_message_kind_has_a_schema_file() -> None:
    names = {p.name for p in (REPO / "schemas").glob("*.schema.json")}
    assert {f"{kind}.schema.json" for kind in MESSAGE_KINDS} <= names


@pytest.mark.parametrize("document", load_schemas().values(), ids=lambda d: d["$id"])
def test_each_schema_is_valid_draft_2020_12(document: dict) -> None:
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


def test_the_checkout_schemas_are_the_ones_loaded() -> None:
    assert json.loads((schema_dir() / "hit.schema.json").read_text()) == json.loads(
        (REPO / "schemas/hit.schema.json").read_text()
    )


@pytest.mark.parametrize("kind", SAMPLES)
def test_samples_pass_both_validators(kind: str) -> None:
    validators()[kind](SAMPLES[kind])
    reference_validator(kind).validate(SAMPLES[kind])


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("booking", {"charges": []}),
        ("booking", {"charges": [{"code": "x", "severity": "felony"}]}),
        ("detainer", {"form": None}),
        ("hit", {"database": "NCIC"}),
        ("release", {"phase": "escaped"}),
        ("release", {"occurred_at": "yesterday"}),
    ],
)
def test_bad_samples_fail_both_validators(kind: str, change: dict) -> None:
    bad = {**SAMPLES[kind], **change}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validators()[kind](bad)
    assert not reference_validator(kind).is_valid(bad)


def test_an_issued_detainer_needs_its_form() -> None:
    bad = {k: v for k, v in SAMPLES["detainer"].items() if k != "form"}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validators()["detainer"](bad)
    served = {**bad, "action": "served"}
    validators()["detainer"](served)


@pytest.mark.parametrize("kind", [*MESSAGE_KINDS, "policy"])
def test_shared_definitions_are_compiled_inline(kind: str) -> None:
    """The documents refer to common.schema.json (stated once); the compiled validators get the
    definitions inlined, so no reference to another document is left to become a call per value
    (and the inlined document says the same as the referring one: the reference validator,
    which follows the references, agrees on the samples above and in the fuzz tests)."""
    document = schema(kind)
    assert "urn:holdwatch:schema:" not in json.dumps(_inlined(document)).replace(
        f'"$id": "urn:holdwatch:schema:{kind}"', ""
    )
