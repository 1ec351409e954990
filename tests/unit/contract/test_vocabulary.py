"""The contract is stated once: every enum in schemas/ is the code's one declaration of it.

streams/contract/vocabulary.py declares each enumerated concept once; the rest of the code imports
it. This is the one test that holds the two in step: a value added to (or dropped from) a schema
and not from the declaration, or an enum added to a schema with no declaration at all, fails here
and nowhere else. (On the starting main there was no declaration: the values were spelled by hand
in the decoder, the event views, the policy loader, the importers, the metrics and the engine.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from streams.contract import vocabulary as v
from streams.contract.schemas import EVENT_TYPES, MESSAGE_KINDS, load_schemas, schema

#: Each declaration and the schema enums that state it (kind, JSON pointer of the enum).
DECLARED: dict[tuple[str, str], tuple[str, ...]] = {
    ("common", "/$defs/charge_severity/enum"): v.CHARGE_SEVERITIES,
    ("common", "/$defs/charge_category/enum"): v.CHARGE_CATEGORIES,
    ("common", "/$defs/conviction_level/enum"): v.CONVICTION_LEVELS,
    ("common", "/$defs/precision/enum"): v.PRECISIONS,
    ("common", "/$defs/bound/enum"): v.BOUNDS,
    ("hit", "/properties/database/enum"): v.HIT_DATABASES,
    ("hit", "/properties/status/enum"): v.IMMIGRATION_STATUSES,
    ("detainer", "/properties/action/enum"): v.DETAINER_ACTIONS,
    ("detainer", "/properties/form/enum"): v.FORMS,
    ("release", "/properties/phase/enum"): v.PHASES,
    ("alert", "/properties/severity/enum"): v.ALERT_SEVERITIES,
    ("alert", "/properties/state/enum"): v.ALERT_STATES,
    ("dead_letter", "/properties/reason/enum"): v.DEAD_LETTER_REASONS,
    ("dead_letter", "/properties/original_encoding/enum"): v.ORIGINAL_ENCODINGS,
}

#: Enums the policy schema states for its own settings, by the name of their last key (one per
#: form, one per rule). Levels and charges it shares with the events by reference (common schema).
#: Rule names (the alert's and the policy's ``rule`` enums) are the rules' own declaration, checked
#: with the rules.
POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "counting": v.COUNTINGS,
    "severity": v.ALERT_SEVERITIES,
}


def enums(node: Any, pointer: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Every ``enum`` in a schema document, with its JSON pointer."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{key}"
            if key == "enum":
                yield here, value
            else:
                yield from enums(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from enums(value, f"{pointer}/{index}")


def every_enum() -> list[tuple[str, str, list[Any]]]:
    prefix = "urn:holdwatch:schema:"
    return [
        (document_id.removeprefix(prefix), pointer, values)
        for document_id, document in sorted(load_schemas().items())
        for pointer, values in enums(document)
    ]


@pytest.mark.parametrize(
    ("kind", "pointer", "values"),
    every_enum(),
    ids=[f"{kind}:{pointer}" for kind, pointer, _ in every_enum()],
)
def test_every_schema_enum_is_the_code_declaration(
    kind: str, pointer: str, values: list[Any]
) -> None:
    """Same values in the same order; an enum with no declaration fails too."""
    name = pointer.removesuffix("/enum").rsplit("/", 1)[-1]
    if name == "rule":
        return  # rule names: the rules' own declaration, checked with the rules
    if kind == "policy":
        assert name in POLICY_KEYS, f"policy enum {pointer} has no declaration"
        declared = POLICY_KEYS[name]
    else:
        assert (kind, pointer) in DECLARED, f"{kind} enum {pointer} has no declaration"
        declared = DECLARED[(kind, pointer)]
    assert tuple(values) == declared


def test_every_declaration_is_in_a_schema() -> None:
    """A declaration whose schema enum moved or vanished is stale, not silently unchecked."""
    found = {(kind, pointer) for kind, pointer, _ in every_enum()}
    assert set(DECLARED) <= found


def test_events_and_policy_share_levels_and_charges_by_reference() -> None:
    """Stated once in schemas/ too: the hit, the booking's charges and the policy refer to the
    common schema's levels and charges (on main each restated the values)."""
    common = "urn:holdwatch:schema:common#/$defs/"
    charge = schema("booking")["properties"]["charges"]["items"]["properties"]
    assert schema("hit")["properties"]["conviction_level"]["$ref"] == common + "conviction_level"
    assert charge["severity"]["$ref"] == common + "charge_severity"
    assert charge["category"]["$ref"] == common + "charge_category"
    for name in ("conviction_level", "charge_severity", "charge_category"):
        assert schema("policy")["$defs"][name]["$ref"] == common + name


def test_the_event_types_are_the_schemas_with_a_type_constant() -> None:
    typed = {
        kind for kind in MESSAGE_KINDS if "const" in schema(kind)["properties"].get("type", {})
    }
    assert EVENT_TYPES == v.EVENT_TYPES
    assert set(v.EVENT_TYPES) == typed
    for kind in v.EVENT_TYPES:
        assert schema(kind)["properties"]["type"]["const"] == kind


def test_the_policy_states_a_hold_limit_for_each_form() -> None:
    forms = schema("policy")["properties"]["hold_limit"]["properties"]["forms"]
    assert tuple(forms["properties"]) == v.FORMS
    assert forms["required"] == list(v.FORMS)
