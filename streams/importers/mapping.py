"""What a jail export means in terms of the event contract, declared once per source.

A county's export is a table with one row per booking charge (or hold). Every such export is
turned into the same four facts per booking (booked, detainer issued/lifted, criminal basis of
custody ended = ``eligible``, left the jail), so the conversion (:mod:`streams.importers.convert`)
is shared and a source only declares:

* where things are: the columns of the booking id, the booking and release times and the time a
  row stopped being a basis of custody, the delimiter and the time format;
* where it is: jurisdiction id (a key of the policy's jurisdiction table) and IANA time zone;
* what its rows are: :class:`RowKind` (charge, immigration hold, another agency's hold) and the
  contract charge (code, severity, category) of a row;
* the few judgements that differ by source, as small functions: pseudonymous person id, whether
  the booking ended in a transfer to ICE, whether an immigration-hold row says the detainer was
  cancelled;
* which rules the source cannot observe (no hits, no service), so the summary can say so;
* optionally: the precision of its times (``day`` for an export with dates only: the converter
  then resolves every date to a bound, see :mod:`streams.importers.convert`), columns derived
  per booking before conversion (``prepare``: an export without a release column, whose release
  is read off the detainer row) and bookings left out by a named reason (``exclude``).

Adding a county is therefore a new module with one :class:`ExportMapping` and one line in
:data:`streams.importers.MAPPINGS`; it never needs a new branch in the shared code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from streams.contract.vocabulary import ChargeCategory, ChargeSeverity, Precision
from streams.importers.reader import Record

Row = Mapping[str, str]
"""One data row of an export, keyed by header name (values are the raw text, never ``None``)."""

Severity = ChargeSeverity  # the contract's (streams/contract/vocabulary.py)
Category = ChargeCategory

CODE_MAX = 128  # booking.schema.json: charges[].code maxLength
REASON_MAX = 64  # release.schema.json: reason maxLength


class RowKind(enum.Enum):
    """What a row of the export is, as far as custody is concerned."""

    CHARGE = "charge"
    """A criminal charge: becomes a booking charge and is a basis of custody."""
    IMMIGRATION_HOLD = "immigration_hold"
    """ICE's hold: the detainer. It is never a basis of custody for the eligibility time."""
    OTHER_HOLD = "other_hold"
    """Another agency's hold (US Marshal, state prison, ...): a lawful basis of custody, but
    not a charge of this booking."""


#: The rules a jail export cannot observe when it records neither the database hits nor the
#: service of the detainer (both bundled importers); a mapping's ``unobserved_rules``.
NO_HITS_NOR_SERVICE = (
    "detainer_without_hit",
    "detainer_copy_not_served",
    "detainer_on_citizen",
    "non_priority_detainer",
)
NO_HITS_NOR_SERVICE_BECAUSE = "the export records neither database hits nor service of the detainer"


@dataclass(frozen=True)
class Charge:
    """One item of ``booking.charges``."""

    code: str
    severity: Severity
    category: Category

    def to_event(self) -> dict[str, str]:
        return {"code": self.code[:CODE_MAX], "severity": self.severity, "category": self.category}


@dataclass(frozen=True, kw_only=True)
class ExportMapping:
    """Declaration of one jail export format (see the module docstring)."""

    name: str
    """The ``--format`` value, e.g. ``pierce-county``."""
    description: str
    jurisdiction: str
    timezone: str
    delimiter: str = ","
    time_format: str = "%Y-%m-%d %H:%M:%S"
    """``strptime`` format of the local, offset-less times of the export."""

    booking_id: str
    """Column of the booking id; every row of a booking carries it."""
    booking_time: str
    release_time: str
    """Column of the time the person left the jail; empty means still in custody."""
    basis_end_time: str
    """Column of the time the row stopped being a basis of custody (may be empty)."""
    row_disposition: str
    """Column saying why the row ended; its slug is the ``reason`` of ``eligible``."""
    booking_disposition: str
    """Column saying why the booking ended; its slug is the ``reason`` of the release."""
    booking_columns: tuple[str, ...] = ()
    """Further columns that describe the booking, not the row: they must agree on every row of a
    booking (the booking and release times always must)."""
    other_columns: tuple[str, ...] = ()
    """Columns the functions below read: checked to be in the header before any row is read."""

    row_kind: Callable[[Row], RowKind]
    charge: Callable[[Row], Charge]
    """The contract charge of a row. Called for CHARGE rows, and for the hold rows of a booking
    that has no charge row (the contract needs at least one charge)."""
    person_id: Callable[[str], str]
    """Pseudonymous person id from the booking id (for exports without a person column)."""
    transferred_to_ice: Callable[[Row], bool]
    """Whether the booking (given any of its rows) ended with a transfer to ICE custody."""
    detainer_lifted: Callable[[Row], bool]
    """Whether an IMMIGRATION_HOLD row says the detainer was cancelled at its end time."""

    unobserved_rules: tuple[str, ...] = ()
    """Rules that cannot apply to this source; the policy should list them as ``disabled_rules``
    of the jurisdiction."""
    unobserved_because: str = ""

    precision: Precision = "second"
    """``day``: the export has dates only (``time_format`` a date format); every date is an
    interval of one local day, resolved to the bound the conversion is asked for."""
    derived_columns: tuple[str, ...] = ()
    """Columns ``prepare`` adds to every row: named like the others above, never required in the
    header."""
    prepare: Callable[[Sequence[Record]], Sequence[Record]] | None = None
    """Rows in, the same rows (same order, same line numbers) with ``derived_columns`` filled in:
    for facts the export states once per booking on one row only."""
    exclude: Callable[[Sequence[Row]], str | None] | None = None
    """The reason a whole booking is left out (counted by reason in the summary), or None."""

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every column the conversion reads, in declaration order, without repeats."""
        named = (
            self.booking_id,
            self.booking_time,
            self.release_time,
            self.basis_end_time,
            self.row_disposition,
            self.booking_disposition,
            *self.booking_columns,
            *self.other_columns,
        )
        return tuple(name for name in dict.fromkeys(named) if name not in self.derived_columns)


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """``"NCF, Pending Inv"`` -> ``"ncf_pending_inv"``; ``""`` when nothing is left.

    Used for ``reason``: stable, readable, within the contract's 64 characters.
    """
    folded = text.strip().lower().replace("'", "")
    return _NON_ALNUM.sub("_", folded).strip("_")[:REASON_MAX].rstrip("_")
