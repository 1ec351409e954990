"""Travis County (TX) jail: bookings with an ICE detainer, 1999-2016 (Austin American-Statesman
public-records extract, see ``/work/shared/data/travis-county/README.md`` and ``docs/import.md``).

One pipe-delimited row per booking charge; the ICE detainer is booked as charge code ``4200``, and
its row's disposition says how the detainer ended (released to ICE, warrant withdrawn, ...). The
export has **dates only** (``precision = "day"``: the conversion resolves every date to the
requested bound) and **no release column**: when and how the person left is read off the detainer
row (``prepare``). Bookings whose outcome the hold-limit rule cannot judge are left out by a named
reason (``exclude``): transfers to other custody, open detainers or charges, entries the jail
itself marked as errors.

The charge mapping (Texas offence levels -> severity, charge text -> category) is also used for
the February 2017 policy-change reports (:mod:`streams.report.travis_policy`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace

from streams.importers import mapping
from streams.importers.mapping import Category, Charge, ExportMapping, Row, RowKind, Severity
from streams.importers.reader import Record

ICE_DETAINER = "4200"

# Other agencies' holds booked as charges (README: 4206 FEDERAL DETAINER, JWAR juvenile detainer;
# the data also has TDC bench warrants, fugitive-from-justice holds for other states and state
# parole violation warrants): a lawful basis of custody, not a charge of this booking.
OTHER_HOLD_CODES = frozenset({"4206", "JWAR", "TDC BW", "4002", "3113"})

# -- how the detainer ended (the 4200 row's disposition_type) -----------------------------------

TRANSFER_TO_ICE = frozenset({"RELEASED TO ICE"})
"""ICE took custody on that date: release ``transferred_to_ice``."""
LIFTED = frozenset({"WARRANT WITHDRAWN", "ICE DETAINER RELEASED"})
"""ICE withdrew the detainer on that date: ``lifted``; the person left when nothing held them any
more (the later of the lift and the last local charge's disposition)."""
JAIL_RELEASE = frozenset(
    {
        "ICE DETAINER TIME LIMIT REACHED",
        "SENTENCE COMPLETE",
        "BOND-PERSONAL RECOGNIZANCE",
        "NO CHARGES FILED",
        "MANUAL LABOR CREDIT RELEASE",
        "COMMUNITY COURT",
        "OVERNIGHT STAY ONLY",
    }
)
"""The jail released the person on that date, not to ICE: release ``released``. TIME LIMIT
REACHED is the jail applying the limit itself; the others are local-charge dispositions entered
on the detainer row, read as a release on that date."""
OTHER_CUSTODY = frozenset(
    {
        "RELEASED TO TDCJ-ID",
        "RELEASED TO TDCJ-STATE JAIL",
        "RELEASED TO TDC",
        "RELEASED TO OTHER AGENCY",
        "RELEASED TO FEDS",
        "RELEASED TO ISF",
        "EXTRADITION",
        "NO HOLD PER TDCJ",
        "NO EXTRADITION",
    }
)
DATA_ERROR = frozenset({"ERROR IN ENTRY", "WRONG PERSON IN CUSTODY"})

EXCLUDED_OTHER_CUSTODY = "detainer ended with a transfer to other custody (state prison, federal, other agency, extradition)"
EXCLUDED_DATA_ERROR = (
    "detainer marked by the jail as an error (ERROR IN ENTRY, WRONG PERSON IN CUSTODY)"
)
EXCLUDED_ESCAPE = "detainer ended by an escape"
EXCLUDED_OPEN_DETAINER = "detainer still open on 2016-10-04 (no disposition)"
EXCLUDED_UNDATED_DETAINER = "detainer disposition without a date"
EXCLUDED_OPEN_CHARGE = "a local charge or other hold still open (no disposition date)"
EXCLUDED_SEVERAL = "more than one ICE detainer row (which one held the person is not recorded)"
EXCLUDED_NONE = "no ICE detainer row"
EXCLUDED_UNKNOWN = "detainer disposition not in the mapping"

# -- charges ------------------------------------------------------------------------------------

# Texas offence level (resources/levels.md of the source repository) -> contract severity.
# Felonies: first to third degree (F1-F3, old codes 1-3), state jail felony (FS, S), capital
# (P, FX), unspecified felony (F, F*: e.g. "OUT OF COUNTY_FELONY"). Class A/B misdemeanours
# (MA, MB, A, B) and unspecified ones (M, M*) are misdemeanours. Class C (MC, C) is punishable by
# fine only (Texas Penal Code 12.23): the contract's infraction. Anything else (X: writs and
# holds, *, empty) -> infraction, the lowest, so nothing is made more serious than recorded.
SEVERITIES: dict[str, Severity] = {
    **dict.fromkeys(("F1", "F2", "F3", "FS", "S", "1", "2", "3", "P", "FX", "F", "F*"), "felony"),
    **dict.fromkeys(("MA", "MB", "A", "B", "M", "M*"), "misdemeanor"),
    **dict.fromkeys(("MC", "C"), "infraction"),
}

# Charge text -> category, first match wins (the text is the jail's abbreviation, upper case).
# Driving while intoxicated is traffic here (Texas Transportation/Penal Code driving offences; ICE
# counted DUI among "traffic offenses"); the contract has no public-order category: other.
_CATEGORY_TEXTS: tuple[tuple[Category, str], ...] = (
    (
        "violent",
        r"MURDER|HOMICIDE|MANSLAUGHTER|ASSLT|ASSAULT|ROBBERY|KIDNAP|SEX|INDECENCY"
        r"|RAPE|TERRORISTIC|DEADLY CONDUCT|UNL RESTRAINT|INJ CHILD|STRANGULATION",
    ),
    (
        "traffic",
        r"DRIVING|DRVNG|DWI|DWLS|TRAFFIC|ACCIDENT INVOLV|FAIL TO STOP AND GIVE"
        r"|EVADING ARREST DET W/VEH|EVAD ARR/DET W/VEH|NO DRIVER",
    ),
    ("drug", r"\bCS\b|CONTROLLED SUBST|MARIJ|DRUG|\bPG ?\d|COCAINE|HEROIN|METH"),
    (
        "property",
        r"THEFT|BURGLARY|BURG |CRIM(INAL)? MISCH|CRM MSCH|FORGERY|FRAUD|STOLEN"
        r"|CREDIT CARD|DEBIT CARD|UNAUTHORIZED USE OF VEHICLE|ARSON|SHOPLIFT",
    ),
)
_CATEGORY_PATTERNS = tuple((name, re.compile(text)) for name, text in _CATEGORY_TEXTS)

PERSON_ID_PREFIX = "tc-"
PERSON_ID_CHARS = 16

# Columns derived per booking by ``prepare`` (the export has no release column).
RELEASE_DATE = "release_date"
RELEASED_TO_ICE = "released_to_ice"
BOOKING_OUTCOME = "booking_outcome"


def _disposition(row: Row) -> str:
    return row["disposition_type"].strip().upper()


def is_detainer_row(row: Row) -> bool:
    return row["charge_code"].strip() == ICE_DETAINER


def row_kind(row: Row) -> RowKind:
    code = row["charge_code"].strip()
    if code == ICE_DETAINER:
        return RowKind.IMMIGRATION_HOLD
    if code in OTHER_HOLD_CODES:
        return RowKind.OTHER_HOLD
    return RowKind.CHARGE


def severity(level: str) -> Severity:
    return SEVERITIES.get(level.strip().upper(), "infraction")


def category(literal: str) -> Category:
    text = literal.strip().upper()
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(text):
            return name
    return "other"


def charge_of(code: str, literal: str, level: str) -> Charge:
    """A contract charge from the code, text and level columns (both Travis tables have them)."""
    code, literal = code.strip(), literal.strip()
    if code == ICE_DETAINER:
        return Charge(code=literal or code, severity="infraction", category="immigration")
    return Charge(code=literal or code, severity=severity(level), category=category(literal))


def charge(row: Row) -> Charge:
    """Code = the charge text (the Tiburon code when empty), severity from the offence level,
    category from the text."""
    return charge_of(row["charge_code"], row["charge_literal"], row["charge_level"])


def person_id(booking_id: str) -> str:
    """The export has no person column (names removed): one pseudonym per booking."""
    return PERSON_ID_PREFIX + booking_id[:PERSON_ID_CHARS]


def transferred_to_ice(row: Row) -> bool:
    return row[RELEASED_TO_ICE] == "1"


def detainer_lifted(row: Row) -> bool:
    return _disposition(row) in LIFTED


def prepare(records: Sequence[Record]) -> list[Record]:
    """Fill in the release date, the transfer flag and the outcome of each booking from its
    (single) detainer row, on every row of the booking. A booking the mapping excludes gets
    empty values (the conversion never reads them)."""
    by_booking: dict[str, list[Record]] = {}
    for record in records:
        by_booking.setdefault(record.row.get("booking_key", "").strip(), []).append(record)
    derived: dict[str, dict[str, str]] = {}
    for key, group in by_booking.items():
        values = {RELEASE_DATE: "", RELEASED_TO_ICE: "0", BOOKING_OUTCOME: ""}
        detainers = [r.row for r in group if not r.problem and is_detainer_row(r.row)]
        if len(detainers) == 1:
            row = detainers[0]
            outcome, date = _disposition(row), row["disposition_date"].strip()
            values[BOOKING_OUTCOME] = outcome
            if outcome in TRANSFER_TO_ICE or outcome in JAIL_RELEASE:
                values[RELEASE_DATE] = date
            elif outcome in LIFTED and date:
                ends = [r.row["disposition_date"].strip() for r in group if not r.problem]
                values[RELEASE_DATE] = max(ends)  # ISO dates: text order is date order
            values[RELEASED_TO_ICE] = "1" if outcome in TRANSFER_TO_ICE else "0"
        derived[key] = values
    return [
        replace(r, row={**r.row, **derived[r.row.get("booking_key", "").strip()]}) for r in records
    ]


def exclude(rows: Sequence[Row]) -> str | None:
    """Why the hold-limit rule cannot judge this booking, or None."""
    detainers = [r for r in rows if is_detainer_row(r)]
    if not detainers:
        return EXCLUDED_NONE
    if len(detainers) > 1:
        return EXCLUDED_SEVERAL
    detainer = detainers[0]
    outcome = _disposition(detainer)
    if not outcome:
        return EXCLUDED_OPEN_DETAINER
    if outcome in OTHER_CUSTODY:
        return EXCLUDED_OTHER_CUSTODY
    if outcome in DATA_ERROR:
        return EXCLUDED_DATA_ERROR
    if outcome == "ESCAPE":
        return EXCLUDED_ESCAPE
    if outcome not in TRANSFER_TO_ICE | LIFTED | JAIL_RELEASE:
        return EXCLUDED_UNKNOWN
    if not detainer["disposition_date"].strip():
        return EXCLUDED_UNDATED_DETAINER
    if any(not r["disposition_date"].strip() for r in rows if not is_detainer_row(r)):
        return EXCLUDED_OPEN_CHARGE
    return None


def booking_key(booking_no: str) -> str:
    """The extract's hashed key of a jail booking number (README: ``booking_key``)."""
    return hashlib.sha256(f"travis-county-tx|{booking_no}".encode()).hexdigest()[:20]


TRAVIS_COUNTY = ExportMapping(
    name="travis-county",
    description="Travis County (TX) jail bookings with an ICE detainer, 1999-2016 (Austin "
    "American-Statesman public records, pipe-delimited, one row per booking charge, dates only)",
    jurisdiction="TX-Travis",
    timezone="America/Chicago",
    delimiter="|",
    time_format="%Y-%m-%d",
    precision="day",
    booking_id="booking_key",
    booking_time="booking_date",
    release_time=RELEASE_DATE,
    basis_end_time="disposition_date",
    row_disposition="disposition_type",
    booking_disposition=BOOKING_OUTCOME,
    booking_columns=(RELEASED_TO_ICE, BOOKING_OUTCOME),
    other_columns=("charge_code", "charge_literal", "charge_level", "disposition_type"),
    derived_columns=(RELEASE_DATE, RELEASED_TO_ICE, BOOKING_OUTCOME),
    prepare=prepare,
    exclude=exclude,
    row_kind=row_kind,
    charge=charge,
    person_id=person_id,
    transferred_to_ice=transferred_to_ice,
    detainer_lifted=detainer_lifted,
    unobserved_rules=mapping.NO_HITS_NOR_SERVICE,
    unobserved_because=mapping.NO_HITS_NOR_SERVICE_BECAUSE,
)
