"""Load the JSON Schemas of ``schemas/`` and compile them once.

The schemas are the single definition of every message. In an installed package they ship as
``streams/_schemas`` (hatch ``force-include``); in a source checkout they are read from the
repository's top-level ``schemas/``. Cross-file references use absolute ``urn:holdwatch:schema:*``
ids, resolved from the same directory, never from the network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from streams.contract.vocabulary import EVENT_TYPES

MESSAGE_KINDS = (*EVENT_TYPES, "alert", "dead_letter")
ID_PREFIX = "urn:holdwatch:schema:"

Validator = Callable[[Any], Any]


def schema_dir() -> Path:
    """Where the schema files are: inside the installed package, else the source checkout."""
    packaged = resources.files("streams") / "_schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "schemas"
    if source.is_dir():
        return source
    raise FileNotFoundError("schemas not found: neither streams/_schemas nor ./schemas exists")


@functools.cache
def load_schemas() -> Mapping[str, dict[str, Any]]:
    """All schema documents by ``$id``."""
    store: dict[str, dict[str, Any]] = {}
    for path in sorted(schema_dir().glob("*.schema.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        store[document["$id"]] = document
    return store


def schema(kind: str) -> dict[str, Any]:
    return load_schemas()[ID_PREFIX + kind]


def _resolve(uri: str) -> dict[str, Any]:
    """``urn:holdwatch:schema:*`` references, from the same directory (never the network)."""
    return load_schemas()[uri.split("#", 1)[0]]


#: Keywords that may stand beside a reference to another document; kept when it is inlined.
_ANNOTATIONS = frozenset({"description", "title", "$comment"})


def _inlined(node: Any) -> Any:
    """``node`` with each reference to another schema document replaced by what it names.

    The documents keep their references: a definition shared by several messages (ids, times,
    conviction levels, charges) is stated once, in common.schema.json. fastjsonschema compiles such
    a reference to a function call per value that first formats the value's path (per charge of
    every booking, per id and time of every event); inlined before compiling, the same checks run
    as straight-line code. A target holding a reference of its own is left as a reference.
    """
    if isinstance(node, list):
        return [_inlined(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if (
        isinstance(ref, str)
        and ref.startswith(ID_PREFIX)
        and node.keys() - {"$ref"} <= _ANNOTATIONS
    ):
        uri, _, pointer = ref.partition("#")
        target: Any = load_schemas()[uri]
        for part in filter(None, pointer.split("/")):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        if "$ref" not in json.dumps(target):
            return {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return {key: _inlined(value) for key, value in node.items()}


def _compile(document: dict[str, Any]) -> Validator:
    return fastjsonschema.compile(_inlined(document), handlers={"urn": _resolve})


@functools.cache
def validators() -> Mapping[str, Validator]:
    """One compiled validator per message kind, built on first use and kept for the process."""
    return {kind: _compile(schema(kind)) for kind in MESSAGE_KINDS}


@functools.cache
def policy_validator() -> Validator:
    """The policy file's schema (``policy.schema.json``), compiled once like the messages'.

    Not a message kind: it checks the TOML policy read as JSON (see streams/policy/load.py).
    """
    return _compile(schema("policy"))
