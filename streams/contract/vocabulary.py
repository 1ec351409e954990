"""The contract's enumerated values, declared once for the code.

``schemas/`` defines every message; this module is the code's one copy of the values the schemas
enumerate (event types, release phases, detainer actions and forms, hit fields, charge fields,
alert severities and states, dead-letter reasons, the policy's counting modes). Every other module
imports these names instead of spelling the values again, and
tests/unit/contract/test_vocabulary.py checks each declaration against the schema enum it stands
for, and that every enum in ``schemas/`` has a declaration here: a value added to a schema and not
here (or the other way round) fails that one test.

Why ``Literal`` types and not ``StrEnum`` or values read from the schema at import: event bodies
are the plain dicts orjson decodes, whose values are ``str``; a ``Literal`` types them with no
conversion per event, and mypy then checks every value the code writes (a dead-letter reason
passed to ``Rejected``, a subset such as the phases that end custody) against this declaration.
The tuples (``get_args``) are what membership checks and metric label sets iterate.

Rule names are not here: the rules declare them (streams/policy/model.py, the engine's rules),
and their check against the schema's rule enum lives with them.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# -- events (booking, hit, detainer, release schemas) ------------------------------------------

#: The four input events; each is one schema file whose ``type`` is this constant.
EventType = Literal["booking", "hit", "detainer", "release"]
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)

ChargeSeverity = Literal["felony", "misdemeanor", "infraction"]
CHARGE_SEVERITIES: Final[tuple[ChargeSeverity, ...]] = get_args(ChargeSeverity)

ChargeCategory = Literal["violent", "drug", "property", "traffic", "immigration", "other"]
CHARGE_CATEGORIES: Final[tuple[ChargeCategory, ...]] = get_args(ChargeCategory)

HitDatabase = Literal["IDENT", "IAFIS"]
HIT_DATABASES: Final[tuple[HitDatabase, ...]] = get_args(HitDatabase)

#: A hit's immigration status as the fingerprint databases report it.
ImmigrationStatus = Literal[
    "us_citizen",
    "naturalized_citizen",
    "lawful_permanent_resident",
    "lawful_temporary",
    "refugee_asylee",
    "no_lawful_status",
    "removal_order",
    "unknown",
]
IMMIGRATION_STATUSES: Final[tuple[ImmigrationStatus, ...]] = get_args(ImmigrationStatus)

#: Secure Communities conviction levels (Level 1 most serious; ``none``: no conviction).
ConvictionLevel = Literal["L1", "L2", "L3", "none"]
CONVICTION_LEVELS: Final[tuple[ConvictionLevel, ...]] = get_args(ConvictionLevel)

DetainerAction = Literal["issued", "served", "lifted"]
DETAINER_ACTIONS: Final[tuple[DetainerAction, ...]] = get_args(DetainerAction)

#: The detainer forms whose hold limits the policy states.
Form = Literal["I-247-2011", "I-247A-2017"]
FORMS: Final[tuple[Form, ...]] = get_args(Form)

Phase = Literal["eligible", "released", "transferred_to_ice", "transferred_other"]
PHASES: Final[tuple[Phase, ...]] = get_args(Phase)

#: How precise a source's times are (absent: exact). A dates-only source says ``day``, and which end
#: of each local day it chose: ``lower`` (the hold as short as the data allows) or ``upper``.
Precision = Literal["second", "day"]
PRECISIONS: Final[tuple[Precision, ...]] = get_args(Precision)

Bound = Literal["lower", "upper"]
BOUNDS: Final[tuple[Bound, ...]] = get_args(Bound)

# -- outputs (alert, dead_letter schemas) -------------------------------------------------------

AlertSeverity = Literal["critical", "warning"]
ALERT_SEVERITIES: Final[tuple[AlertSeverity, ...]] = get_args(AlertSeverity)

AlertState = Literal["firing", "resolved"]
ALERT_STATES: Final[tuple[AlertState, ...]] = get_args(AlertState)

#: Why an input became a dead letter: the contract's own checks, then the engine's.
DeadLetterReason = Literal[
    "oversized",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "unknown_type",
    "schema_violation",
    "bad_timestamp",
    "type_topic_mismatch",
    "empty_key",
    "key_mismatch",
    "expired",
    "future",
    "forged_control",
    "conflicting_duplicate",
    "unknown_jurisdiction",
    "case_limit",
    "inconsistent_time",
]
DEAD_LETTER_REASONS: Final[tuple[DeadLetterReason, ...]] = get_args(DeadLetterReason)

#: How a dead letter keeps the original bytes: as text when they are UTF-8, else base64.
OriginalEncoding = Literal["utf-8", "base64"]
ORIGINAL_ENCODINGS: Final[tuple[OriginalEncoding, ...]] = get_args(OriginalEncoding)

# -- the policy file (policy schema) -----------------------------------------------------------

#: How a form's hold limit counts hours: every hour, or only hours on business days.
Counting = Literal["business", "elapsed"]
COUNTINGS: Final[tuple[Counting, ...]] = get_args(Counting)
