"""Rates that the synthetic log is calibrated to, each with its source.

Published figures (see ``shared/domain.md`` and the seed documents it summarizes) are marked
*published*; everything else is a modelling assumption, marked *assumed*, chosen to look like a
jail's booking flow and to make every alert rule fire now and then. Derived tables (the hit rate
and conviction mix of the jurisdictions that are not singled out) are computed at import so that
the national figures come out as published.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

from streams.contract.vocabulary import (
    ChargeCategory,
    ChargeSeverity,
    ConvictionLevel,
    Form,
    HitDatabase,
    ImmigrationStatus,
)

# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------

#: ICE, Secure Communities statistics through 30 Sep 2011: fingerprint submissions and IDENT hits.
FINGERPRINT_SUBMISSIONS_2011: Final = 11_124_789
IDENT_HITS_2011: Final = 692_788
#: Share of bookings whose fingerprints match a federal database (published: 6.2%).
HIT_RATE: Final = IDENT_HITS_2011 / FINGERPRINT_SUBMISSIONS_2011

#: FY2011 Secure Communities removals by Morton-memo conviction level (published, ICE).
LEVEL_MIX_NATIONAL: Final[Mapping[ConvictionLevel, float]] = {
    "L1": 0.26,
    "L2": 0.19,
    "L3": 0.29,
    "none": 0.26,
}
#: National share of Level 3 + non-criminal removals (published: 55%).
LOW_PRIORITY_SHARE_NATIONAL: Final = LEVEL_MIX_NATIONAL["L3"] + LEVEL_MIX_NATIONAL["none"]
#: Jurisdictions far above the national low-priority share (published, FY2011).
LOW_PRIORITY_SHARE_SKEWED: Final[Mapping[str, float]] = {
    "AZ-Maricopa": 0.60,
    "CA-Alameda": 0.64,
    "GA-Gwinnett": 0.66,
    "LA-JeffersonParish": 0.87,
}

#: Share of sampled Secure Communities arrests that were US citizens (published: Warren
#: Institute, Oct 2011). Applied to hits, split between the two citizen statuses (assumed).
CITIZEN_SHARE: Final = 0.016

#: Detainer forms: the 2011 Form I-247 until the I-247A took effect on 3 Apr 2017 (published).
FORM_2011: Final[Form] = "I-247-2011"
FORM_2017: Final[Form] = "I-247A-2017"
FORM_2017_EFFECTIVE: Final = date(2017, 4, 3)

# --------------------------------------------------------------------------------------------
# Jurisdictions: the default policy table without WA-Pierce and TX-Travis (the real extracts').
# Booking weights are rough relative jail admissions (assumed); hit multipliers make the four
# skewed jurisdictions hit more often than the rest (assumed: they are high-immigration,
# 287(g)-heavy jurisdictions).
# --------------------------------------------------------------------------------------------

#: id -> (IANA time zone, relative booking volume, hit-rate multiplier or None for "the rest").
JURISDICTIONS: Final[Mapping[str, tuple[str, float, float | None]]] = {
    "AZ-Maricopa": ("America/Phoenix", 9.0, 2.0),
    "CA-Alameda": ("America/Los_Angeles", 4.0, 1.5),
    "GA-Gwinnett": ("America/New_York", 3.0, 1.8),
    "LA-JeffersonParish": ("America/Chicago", 2.5, 1.6),
    "CA-SantaClara": ("America/Los_Angeles", 4.0, None),
    "CA-SanFrancisco": ("America/Los_Angeles", 2.5, None),
    "CA-LosAngeles": ("America/Los_Angeles", 14.0, None),
    "IL-Cook": ("America/Chicago", 9.0, None),
    "NY-NewYorkCity": ("America/New_York", 10.0, None),
    "MA-Suffolk": ("America/New_York", 2.5, None),
    "VA-Arlington": ("America/New_York", 1.0, None),
    "DC-Washington": ("America/New_York", 3.0, None),
    "TX-Harris": ("America/Chicago", 10.0, None),
    "FL-MiamiDade": ("America/New_York", 7.0, None),
    "WA-King": ("America/Los_Angeles", 4.0, None),
}
#: Jurisdictions of the default policy table that the generator never uses.
RESERVED_JURISDICTIONS: Final = frozenset({"WA-Pierce", "TX-Travis"})

# --------------------------------------------------------------------------------------------
# Assumed rates
# --------------------------------------------------------------------------------------------

#: A date starts at its local midnight in the westernmost jurisdiction (no event before it).
DEFAULT_START: Final = date(2011, 10, 1)
DEFAULT_PER_DAY: Final = 200.0

#: Share of booking events that carry ``timezone`` (the rest rely on the policy table).
TIMEZONE_PRESENT_SHARE: Final = 0.85

#: Charges per booking: 1, 2, 3, 4 with these weights.
CHARGE_COUNT_WEIGHTS: Final = (55.0, 25.0, 13.0, 7.0)
#: Bookings on minor traffic charges only (driving without a licence and the like).
TRAFFIC_ONLY_SHARE: Final = 0.06
#: (code, severity, category, weight) of ordinary charges.
CHARGES: Final[tuple[tuple[str, ChargeSeverity, ChargeCategory, float], ...]] = (
    ("ASSAULT-AGGRAVATED", "felony", "violent", 4.0),
    ("ROBBERY", "felony", "violent", 2.0),
    ("DOMESTIC-BATTERY", "misdemeanor", "violent", 5.0),
    ("ASSAULT-SIMPLE", "misdemeanor", "violent", 4.0),
    ("DRUG-SALE", "felony", "drug", 4.0),
    ("DRUG-POSSESSION-F", "felony", "drug", 6.0),
    ("DRUG-POSSESSION-M", "misdemeanor", "drug", 9.0),
    ("PARAPHERNALIA", "infraction", "drug", 3.0),
    ("BURGLARY", "felony", "property", 5.0),
    ("THEFT-GRAND", "felony", "property", 4.0),
    ("THEFT-PETTY", "misdemeanor", "property", 11.0),
    ("VANDALISM", "misdemeanor", "property", 4.0),
    ("DUI", "misdemeanor", "traffic", 8.0),
    ("DRIVING-SUSPENDED", "misdemeanor", "traffic", 4.0),
    ("NO-LICENSE", "misdemeanor", "traffic", 3.0),
    ("FALSE-DOCUMENTS", "felony", "immigration", 1.0),
    ("WEAPON-POSSESSION", "felony", "other", 3.0),
    ("PROBATION-VIOLATION", "felony", "other", 4.0),
    ("FAILURE-TO-APPEAR", "misdemeanor", "other", 7.0),
    ("TRESPASS", "misdemeanor", "other", 4.0),
    ("DISORDERLY-CONDUCT", "misdemeanor", "other", 4.0),
)
#: Minor traffic charges of a traffic-only booking.
MINOR_TRAFFIC_CHARGES: Final[tuple[tuple[str, ChargeSeverity, ChargeCategory, float], ...]] = (
    ("NO-LICENSE", "misdemeanor", "traffic", 5.0),
    ("DRIVING-SUSPENDED", "misdemeanor", "traffic", 3.0),
    ("SPEEDING", "infraction", "traffic", 2.0),
    ("EQUIPMENT-VIOLATION", "infraction", "traffic", 1.0),
)

#: Hit database: IDENT mostly (the immigration match), IAFIS for the rest.
HIT_DATABASE_WEIGHTS: Final[Mapping[HitDatabase, float]] = {"IDENT": 0.92, "IAFIS": 0.08}
#: Immigration status reported by a hit; citizens add up to CITIZEN_SHARE.
HIT_STATUS_WEIGHTS: Final[Mapping[ImmigrationStatus, float]] = {
    "no_lawful_status": 0.52,
    "removal_order": 0.22,
    "lawful_permanent_resident": 0.14,
    "lawful_temporary": 0.044,
    "refugee_asylee": 0.03,
    "unknown": 0.03,
    "us_citizen": 0.006,
    "naturalized_citizen": CITIZEN_SHARE - 0.006,
}
#: Share of hits on which ICE lodges a detainer (independent of status and level).
DETAINER_RATE: Final = 0.75
#: Detainers with no hit before them, as a share of all detainers.
DETAINER_WITHOUT_HIT_SHARE: Final = 0.01
#: Share of detainers served (copy given) within 24 h of issue; of the rest, this share is
#: served later, the others never.
SERVED_WITHIN_24H: Final = 0.85
SERVED_LATE_OF_REST: Final = 0.5
#: Share of detainers lifted, and the share of those lifted before release eligibility.
LIFTED_SHARE: Final = 0.08
LIFTED_BEFORE_ELIGIBLE: Final = 0.6
#: Of detainers still active at eligibility: held past 48 elapsed hours, and the outcome.
HELD_PAST_48H_SHARE: Final = 0.045
PAST_48H_TRANSFERRED: Final = 0.7
TRANSFERRED_WITHIN_48H: Final = 0.9  # the rest is released by the jail within 48 h
#: Without an active detainer: share transferred to another agency instead of released.
TRANSFERRED_OTHER_SHARE: Final = 0.05

#: Lognormal delays, (median seconds, sigma).
HIT_DELAY: Final = (20 * 60.0, 0.8)  # fingerprints -> IDENT response
ISSUE_DELAY: Final = (6 * 3600.0, 0.9)  # hit -> detainer issued
NO_HIT_ISSUE_DELAY: Final = (10 * 3600.0, 0.9)  # booking -> detainer without a hit
SERVE_DELAY: Final = (3 * 3600.0, 1.0)  # issued -> served (truncated below 24 h)
LATE_SERVE_DELAY: Final = (24 * 3600.0, 0.7)  # added to 24 h for a late service
STAY: Final = (2.5 * 86400.0, 1.3)  # booking -> release eligible
HOLD_STAY: Final = (6.0 * 86400.0, 1.1)  # same, for a booking with a detainer
MAX_STAY_DAYS: Final = 120
RELEASE_DELAY: Final = (45 * 60.0, 1.0)  # eligible (or lifted) -> released
OTHER_TRANSFER_DELAY: Final = (6 * 3600.0, 0.6)
ICE_PICKUP_DELAY: Final = (14 * 3600.0, 0.8)  # eligible -> transferred, capped below 48 h
JAIL_RELEASE_ON_HOLD_DELAY: Final = (30 * 3600.0, 0.5)  # eligible -> released, below 48 h
PAST_48H_EXTRA_MEAN: Final = 30 * 3600.0  # exponential, added to 48 h, capped below
PAST_48H_EXTRA_MAX: Final = 6 * 86400.0

#: Why the criminal basis of custody ended.
ELIGIBLE_REASONS: Final[Mapping[str, float]] = {
    "bail_posted": 0.30,
    "own_recognizance": 0.15,
    "charges_dismissed": 0.15,
    "sentence_completed": 0.20,
    "time_served": 0.12,
    "acquitted": 0.03,
    "case_resolved": 0.05,
}

# Noise of a recorded log.
#: Events emitted slightly out of order: after a later event, at most this late.
OUT_OF_ORDER_SHARE: Final = 0.01
OUT_OF_ORDER_MAX_SECONDS: Final = 300
#: Events emitted hours late.
LATE_SHARE: Final = 0.001
LATE_SECONDS: Final = (3600, 6 * 3600)
#: Exact duplicate lines, repeated within this many seconds of event time.
DUPLICATE_SHARE: Final = 0.005
DUPLICATE_MAX_SECONDS: Final = 120
#: Bookings whose booking event arrives after their next event (up to 10 min after it), chosen
#: among bookings whose next event (mostly the hit) follows within two hours.
EARLY_EVENTS_BOOKING_SHARE: Final = 0.005
EARLY_EVENTS_MAX_SECONDS: Final = 600
EARLY_EVENTS_NEXT_WITHIN: Final = 2 * 3600


# --------------------------------------------------------------------------------------------
# Derived tables
# --------------------------------------------------------------------------------------------


def _normalized(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {key: value / total for key, value in weights.items()}


def _skewed_level_mix(low_share: float) -> dict[ConvictionLevel, float]:
    """National proportions within the low (L3, none) and high (L1, L2) groups."""
    nat = LEVEL_MIX_NATIONAL
    low, high = LOW_PRIORITY_SHARE_NATIONAL, 1.0 - LOW_PRIORITY_SHARE_NATIONAL
    return {
        "L1": (1.0 - low_share) * nat["L1"] / high,
        "L2": (1.0 - low_share) * nat["L2"] / high,
        "L3": low_share * nat["L3"] / low,
        "none": low_share * nat["none"] / low,
    }


def _derive() -> tuple[dict[str, float], dict[str, dict[ConvictionLevel, float]]]:
    """Hit rate and level mix per jurisdiction such that the national figures are published."""
    volume = _normalized({j: spec[1] for j, spec in JURISDICTIONS.items()})
    skewed = {j: spec[2] for j, spec in JURISDICTIONS.items() if spec[2] is not None}
    rest = [j for j in JURISDICTIONS if j not in skewed]
    rest_volume = sum(volume[j] for j in rest)
    skewed_hits = sum(volume[j] * HIT_RATE * m for j, m in skewed.items())
    rest_rate = (HIT_RATE - skewed_hits) / rest_volume
    if not 0.0 < rest_rate < HIT_RATE:
        raise ValueError("hit multipliers leave no hits for the other jurisdictions")
    hit_rate = {j: HIT_RATE * skewed[j] if j in skewed else rest_rate for j in JURISDICTIONS}
    hits = {j: volume[j] * hit_rate[j] for j in JURISDICTIONS}
    mix = {j: _skewed_level_mix(LOW_PRIORITY_SHARE_SKEWED[j]) for j in skewed}
    rest_hits = sum(hits[j] for j in rest)
    rest_mix = {
        level: (HIT_RATE * share - sum(hits[j] * mix[j][level] for j in skewed)) / rest_hits
        for level, share in LEVEL_MIX_NATIONAL.items()
    }
    if min(rest_mix.values()) <= 0.0:
        raise ValueError("skewed jurisdictions leave a negative level share for the rest")
    for j in rest:
        mix[j] = rest_mix
    return hit_rate, {j: mix[j] for j in JURISDICTIONS}


_DERIVED = _derive()
#: Share of bookings with a hit, per jurisdiction (national average: HIT_RATE).
JURISDICTION_HIT_RATE: Final[Mapping[str, float]] = _DERIVED[0]
#: Conviction-level mix of hits, per jurisdiction (national average: LEVEL_MIX_NATIONAL).
JURISDICTION_LEVEL_MIX: Final[Mapping[str, Mapping[ConvictionLevel, float]]] = _DERIVED[1]
#: Probability that a booking without a hit gets a detainer, so that such detainers are
#: DETAINER_WITHOUT_HIT_SHARE of all detainers.
DETAINER_WITHOUT_HIT_RATE: Final = (
    HIT_RATE
    * DETAINER_RATE
    * DETAINER_WITHOUT_HIT_SHARE
    / (1.0 - DETAINER_WITHOUT_HIT_SHARE)
    / (1.0 - HIT_RATE)
)
