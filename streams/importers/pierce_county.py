"""Pierce County (WA) jail export of bookings with ICE holds, 2015-2018 (UWCHR public records).

One pipe-delimited row per booking charge; ``booking_charge_desc`` is the charge, ``HOLD IMMIGRAT``
the ICE hold and other ``HOLD ...`` values other agencies' holds. Times are local
(America/Los_Angeles) without offset. See ``/work/shared/data/pierce-county/README.md`` and
``docs/import.md`` for the decisions below and why.
"""

from __future__ import annotations

from streams.importers import mapping
from streams.importers.mapping import Category, Charge, ExportMapping, Row, RowKind, Severity

IMMIGRATION_HOLD = "HOLD IMMIGRAT"
OTHER_HOLD_PREFIX = "HOLD "

# The export's `type` -> contract category. The contract has no sex-offence or public-order
# category: the sex offences in this export are child molestation, rape and indecent liberties
# (violent offences under RCW 9.94A.030), so `sex` -> violent; public-order offences (unlawful
# firearm possession, obstruction, ...) are none of the listed kinds -> other. Anything else ->
# other. `type` never says traffic, so DUI and license charges are `other` too.
CATEGORIES: dict[str, Category] = {
    "violent": "violent",
    "drug": "drug",
    "property": "property",
    "sex": "violent",
    "public_order": "other",
    "other": "other",
}

# Pierce County booking ids are 40-hex hashes: 16 of them (64 bits) keep pseudonyms distinct
# over any realistic export while being visibly derived, not a real person id.
PERSON_ID_PREFIX = "pc-"
PERSON_ID_CHARS = 16


def row_kind(row: Row) -> RowKind:
    desc = row["booking_charge_desc"].strip()
    if desc == IMMIGRATION_HOLD:
        return RowKind.IMMIGRATION_HOLD
    if desc.startswith(OTHER_HOLD_PREFIX):
        return RowKind.OTHER_HOLD
    return RowKind.CHARGE


# Statutory class (the export's row-level `category`) -> contract severity. The `felony` and
# `misdemeanor` columns are NOT per charge: they are the same on every row of a booking ("the
# booking has a felony charge"), so a gross misdemeanor booked with a felony would read as a
# felony. Rows whose class is `other` (community-custody and probation holds, bail jumping, the
# holds) have no class in the export: infraction, the lowest, so nothing is made more serious
# than the record shows.
SEVERITIES: dict[str, Severity] = {
    "class a felony": "felony",
    "class b felony": "felony",
    "class c felony": "felony",
    "gross misdemeanor": "misdemeanor",
    "misdemeanor": "misdemeanor",
    "civil infraction": "infraction",
}


def charge(row: Row) -> Charge:
    """Code = the charge text, severity from the statutory class, category from `type`.

    The immigration hold, when it has to stand in as the only charge, is category immigration.
    """
    code = row["booking_charge_desc"].strip()
    severity = SEVERITIES.get(row["category"].strip().lower(), "infraction")
    category: Category
    if code == IMMIGRATION_HOLD:
        category = "immigration"
    else:
        category = CATEGORIES.get(row["type"].strip().lower(), "other")
    return Charge(code=code, severity=severity, category=category)


def person_id(booking_id: str) -> str:
    """The export has no person id (``hash_id`` differs on every row): one pseudonym per booking."""
    return PERSON_ID_PREFIX + booking_id[:PERSON_ID_CHARS]


def transferred_to_ice(row: Row) -> bool:
    return row["release_to_imm"].strip() == "1"


def detainer_lifted(row: Row) -> bool:
    """The ICE hold row ended as "Cancel Detainer". (The `cancel_detainer` flag is not used: it is
    set on every row of a booking where *any* row, even a charge, has that disposition.)"""
    return row["release_disposition_desc"].strip().lower() == "cancel detainer"


PIERCE_COUNTY = ExportMapping(
    name="pierce-county",
    description="Pierce County (WA) jail bookings with ICE holds (UWCHR public records, "
    "pipe-delimited, one row per booking charge)",
    jurisdiction="WA-Pierce",
    timezone="America/Los_Angeles",
    delimiter="|",
    time_format="%Y-%m-%d %H:%M:%S",
    booking_id="booking_id",
    booking_time="booking_dt",
    release_time="release_dt",
    basis_end_time="charge_release_dt",
    row_disposition="release_disposition_desc",
    booking_disposition="final_release_disp",
    booking_columns=("release_to_imm", "final_release_disp"),
    other_columns=("booking_charge_desc", "category", "type"),
    row_kind=row_kind,
    charge=charge,
    person_id=person_id,
    transferred_to_ice=transferred_to_ice,
    detainer_lifted=detainer_lifted,
    unobserved_rules=mapping.NO_HITS_NOR_SERVICE,
    unobserved_because=mapping.NO_HITS_NOR_SERVICE_BECAUSE,
)
