"""The four input events as msgspec Structs: the decoder's fast validation path.

Why: validating a parsed body with the fastjsonschema code compiled from ``schemas/`` was a
quarter of the in-process replay (issue 15's profile); ``msgspec.convert`` of the same dict into
these Structs runs the same checks in C, about ten times faster. ``schemas/`` stays the single
definition of every message: tests/unit/contract/test_structs.py asserts that
``msgspec.json.schema()`` of these Structs equals the schema files (normalised), so a change to
either that the other does not make fails there.

What msgspec cannot express, kept as small Python checks in :mod:`streams.contract.decode`
(:data:`DATE_TIME` and ``_fast_checks``): ``format: date-time`` on ``occurred_at``, the detainer's
"``form`` required when ``action`` is issued" (``if``/``then``), the IANA zone check, the key and
topic checks. Anything the fast path refuses goes to the exact path (fastjsonschema), which
produces the dead letter word for word as before.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

import msgspec
from fastjsonschema.draft04 import CodeGeneratorDraft04

from streams.contract.vocabulary import (
    Bound,
    ChargeCategory,
    ChargeSeverity,
    ConvictionLevel,
    DetainerAction,
    Form,
    HitDatabase,
    ImmigrationStatus,
    Phase,
    Precision,
)

# The shared definitions of common.schema.json.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Timestamp = Annotated[str, msgspec.Meta(max_length=40)]  # + format: date-time (DATE_TIME)
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

#: The ``date-time`` format exactly as the exact path (fastjsonschema) checks it: its own regex,
#: not a copy, so the fast path refuses what the exact path refuses.
DATE_TIME: Final = re.compile(CodeGeneratorDraft04.FORMAT_REGEXS["date-time"])


# ``gc=False`` on the bodies and their charges: one decoded per message, none tracked by the
# garbage collector (fewer allocations counted toward its collections: -0.4% instructions of a
# replay). They hold only strings, ints and the charges list, and nothing refers back to them,
# so no cycle runs through one (as ``Event``, streams/contract/events.py).
class _Event(msgspec.Struct, forbid_unknown_fields=True, tag_field="type", gc=False):
    event_id: Id
    booking_id: Id
    occurred_at: Timestamp


class Charge(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    severity: ChargeSeverity
    category: ChargeCategory


class Booking(_Event, tag="booking"):
    person_id: Id
    jurisdiction: Text64
    charges: Annotated[list[Charge], msgspec.Meta(min_length=1, max_length=64)]
    precision: Precision | msgspec.UnsetType = msgspec.UNSET
    bound: Bound | msgspec.UnsetType = msgspec.UNSET
    timezone: Text64 | msgspec.UnsetType = msgspec.UNSET


class Hit(_Event, tag="hit"):
    database: HitDatabase
    status: ImmigrationStatus
    conviction_level: ConvictionLevel


class Detainer(_Event, tag="detainer"):
    detainer_id: Id
    action: DetainerAction
    precision: Precision | msgspec.UnsetType = msgspec.UNSET
    bound: Bound | msgspec.UnsetType = msgspec.UNSET
    form: Form | msgspec.UnsetType = msgspec.UNSET  # + required when issued (decode.py)


class Release(_Event, tag="release"):
    phase: Phase
    precision: Precision | msgspec.UnsetType = msgspec.UNSET
    bound: Bound | msgspec.UnsetType = msgspec.UNSET
    reason: Text64 | msgspec.UnsetType = msgspec.UNSET


InputEvent = Booking | Hit | Detainer | Release
